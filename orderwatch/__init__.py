"""orderwatch: find abnormal retail orders and route each flag to the department that owns it.

The data flows one way: ``ingest`` → canonical polars frame (``contracts.schema``) →
``detectors`` add feature columns → ``rules`` decide the level → ``store`` keeps flags →
``web`` and jobs serve people.  This package holds what they share: the schema, the
configuration, the scan pipeline and the command line.
"""

__version__ = "0.1.0"
