"""The one exception the ingest layer raises to its callers."""

from __future__ import annotations


class IngestError(Exception):
    """A file could not be read at all (missing, corrupt, unknown format, undecodable).

    The message always starts with the file's path.  Row-level problems never raise: they go
    to the quarantine frame instead.
    """
