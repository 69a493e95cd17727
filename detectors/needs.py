"""Which files each rule may judge: a detector whose needed fields a file lacks skips it.

Presence is read from the lines themselves (a column that is there but empty for the whole
file counts as absent), per source file, and so is what the file's states track: ``state:<s>``
is present when some line of the file is in canonical state ``s`` (a status column whose words
reach 已签收 tracks delivery; one that stops at 卖家已发货 does not), so one scan of several exports judges each by what
it carries.  A configured source's history counts too: this morning's export of a feed whose
earlier exports had delivery times still tracks delivery, though nothing was delivered yet.
(The unconfigured ``default`` source mixes unrelated files, so only the file itself counts.)
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from contracts.schema import CANONICAL
from detectors import REGISTRY
from detectors.state_platform import ANY_LINE

#: fields whose presence never decides anything (always filled, or bookkeeping)
_IGNORED = ("source", "line_no", "state")


def presence(lines: pl.LazyFrame | pl.DataFrame, past_fields: pl.DataFrame | None = None) -> dict[str, set[str]]:
    """batch source_file -> canonical fields with a value in it (or in its configured source).

    Counted with ``null_count`` (free on a column's chunks) file by file; a configured source's
    history is read only for the fields a batch file lacks, and only when it has history.  Why
    no copies: a scan's frame holds every line of the batch and its history window, so the
    batch is filtered out only when history is there, and the history only for a lacking field.
    ``past_fields``: in state mode, the baseline state's ``source_fields`` rows inside the history
    window (``detectors.state_platform``) stand for the source's history; ``lines`` is then the
    batch (and its slice), whose stored lines are in that table already.
    """
    df = lines.collect() if isinstance(lines, pl.LazyFrame) else lines
    cols = [c for c in CANONICAL if c in df.columns and c not in _IGNORED]
    if not cols or "source_file" not in df.columns or df.height == 0:
        return {}
    marked = "_in_batch" in df.columns and not df.get_column("_in_batch").all(ignore_nulls=False)
    batch = df.filter(pl.col("_in_batch")) if marked else df
    files = batch["source_file"].unique(maintain_order=True).to_list()
    out: dict[str, set[str]] = {}
    for f in files:
        part = batch if len(files) == 1 else batch.filter(pl.col("source_file") == f)
        fields = {c for c in cols if part[c].null_count() < part.height} | _states(part)
        src = part["source"][0] if part.height else None
        lacking = [c for c in cols if c not in fields]
        if lacking and src and src != "default":
            if past_fields is not None:
                fields |= _stored_fields(past_fields, src, lacking)
            elif marked:
                fields |= _history_fields(df, src, lacking)
        out[str(f)] = fields
    return out


#: one store group's part of :func:`presence`: batch file -> (its source, the fields its lines
#: carry), source -> what its history lines carry (every field, and every state), and the fields looked at
PresencePart = tuple[dict[str, tuple[str | None, set[str]]], dict[str, set[str]], list[str]]


def presence_part(lines: pl.DataFrame) -> PresencePart:
    """:func:`presence` of one store group's lines (its batch, and its history of the named
    sources), in parts that add up over groups: :func:`merged_presence` of every group's is the
    presence over all of them (a file's source is its first line's, one source a file)."""
    cols = [c for c in CANONICAL if c in lines.columns and c not in _IGNORED]
    if not cols or "source_file" not in lines.columns or lines.height == 0:
        return {}, {}, []
    marked = "_in_batch" in lines.columns
    batch = lines.filter(pl.col("_in_batch")) if marked else lines
    files: dict[str, tuple[str | None, set[str]]] = {}
    for (f,), part in batch.partition_by("source_file", as_dict=True, maintain_order=True).items():
        files[str(f)] = (part["source"][0], {c for c in cols if part[c].null_count() < part.height} | _states(part))
    sources: dict[str, set[str]] = {}
    if marked:
        for (src,), hist in lines.filter(~pl.col("_in_batch")).partition_by("source", as_dict=True).items():
            sources[str(src)] = {c for c in cols if hist[c].null_count() < hist.height} | _states(hist)
    return files, sources, cols


def stored_presence_part(batch: pl.DataFrame, past_fields: pl.DataFrame) -> PresencePart:
    """:func:`presence_part` in state mode: the group's batch files, and what the state's
    ``source_fields`` (inside the window) say each source's history carries."""
    files, _, cols = presence_part(batch.with_columns(pl.lit(True).alias("_in_batch")))
    sources: dict[str, set[str]] = {}
    for (src,), rows in past_fields.partition_by("source", as_dict=True).items():
        got = set(rows.get_column("field").to_list())
        if ANY_LINE in got:
            sources[str(src)] = {r for r in got if r in cols or r.startswith("state:")}
    return files, sources, cols


def merged_presence(parts: Iterable[PresencePart]) -> dict[str, set[str]]:
    """:func:`presence` from every store group's :func:`presence_part`: a file carries what any
    group's lines of it carry, and, when it lacks a field, what its source's history carries."""
    files: dict[str, tuple[str | None, set[str]]] = {}
    sources: dict[str, set[str]] = {}
    cols: set[str] = set()
    for part_files, part_sources, part_cols in parts:
        cols |= set(part_cols)
        for f, (src, fields) in part_files.items():
            first, had = files.get(f, (src, set()))
            files[f] = (first if first is not None else src, had | fields)
        for src, fields in part_sources.items():
            sources[src] = sources.get(src, set()) | fields
    out = {}
    for f, (src, fields) in files.items():
        lacking = any(c not in fields for c in cols)
        extra = sources.get(str(src), set()) if lacking and src and src != "default" else set()
        out[f] = fields | extra
    return out


def _history_fields(df: pl.DataFrame, src: str, lacking: list[str]) -> set[str]:
    """What ``src``'s raw history lines (``~_in_batch``) carry of the ``lacking`` fields, and
    every state seen; only those columns of only that source's lines are read."""
    keep = [*lacking, *(["state"] if "state" in df.columns else [])]
    hist = df.lazy().filter(~pl.col("_in_batch") & (pl.col("source") == src)).select(keep).collect()
    if not hist.height:
        return set()
    return {c for c in lacking if hist[c].null_count() < hist.height} | _states(hist)


def _stored_fields(past_fields: pl.DataFrame, src: str, lacking: list[str]) -> set[str]:
    """What the state says ``src``'s history carries: the ``lacking`` fields and every state
    seen (nothing when it has no line in the window, as a source without history)."""
    rows = past_fields.filter(pl.col("source") == src).get_column("field").to_list()
    if ANY_LINE not in rows:
        return set()
    want = set(lacking)
    return {r for r in rows if r in want or r.startswith("state:")}


def _states(part: pl.DataFrame) -> set[str]:
    """``state:<s>`` for every canonical state some line is in."""
    if "state" not in part.columns:
        return set()
    return {f"state:{s}" for s in part.get_column("state").drop_nulls().unique().to_list()}


def judged_files(detector: str, params: dict, present: dict[str, set[str]]) -> set[str]:
    det = REGISTRY[detector]
    return {f for f, fields in present.items() if not det.unmet(params, fields)}


#: needs met by what a scan is given beside the orders, not by a column: pseudo-field -> why
CONTEXT_NEEDS: dict[str, str] = {
    "catalog": "a catalog (scan --catalog)",
    "credit_limits": "credit limits (stores.file or payment.cod_cap in config.yaml)",
}


def _display(det, params: dict) -> str:
    part = params.get("scope") or params.get("stage")    # one detector, several rules
    return f"{det.name} ({part})" if part else det.name


def unmet_needs(rules: Iterable, present: set[str], given: Iterable[str] = ()) -> dict[str, list[list[str]]]:
    """detector (and scope) -> its unmet needs, each a list of alternatives.

    ``present``: the file's canonical fields; ``given``: the context needs the scan meets
    (``catalog``, ``credit_limits``: see :data:`CONTEXT_NEEDS`).  Correlation detectors read
    flags, not files, and are never skipped here.
    """
    have = set(present) | set(given)
    out: dict[str, list[list[str]]] = {}
    for r in rules:
        det = REGISTRY[r.detector]
        if det.input != "lines":
            continue
        params = det.with_defaults(r.params)
        lacking = [list((n,) if isinstance(n, str) else n) for n in det.needs(params)
                   if not any(a in have for a in ((n,) if isinstance(n, str) else n))]
        if lacking:
            out.setdefault(_display(det, params), lacking)
    return out


def why(needs: list[list[str]]) -> str:
    """``needs sku, quantity`` / ``needs a catalog (scan --catalog)``: the plain-text reason."""
    return "needs " + ", ".join(
        " or ".join(CONTEXT_NEEDS.get(a, a) for a in alts) for alts in needs)


def skipped(rules: Iterable, present: set[str], given: Iterable[str] | None = None) -> dict[str, str]:
    """detector (and scope) -> why it cannot judge a file with ``present`` fields.

    ``given`` None: only the file's fields are judged (context needs are taken as met)."""
    rules = list(rules)
    assume = set(CONTEXT_NEEDS) if given is None else set(given)
    return {d: why(n) for d, n in unmet_needs(rules, present, assume).items()}


def context_given(catalog: bool, limits: bool) -> set[str]:
    """The context needs a scan meets: a catalog, credit limits."""
    return {k for k, ok in (("catalog", catalog), ("credit_limits", limits)) if ok}


def report_skips(reports: Iterable, rules: Iterable, present: dict[str, set[str]], given: set[str]) -> None:
    """Fill each file report's skipped detectors (text and structured), as scan and inspect say them."""
    rules = [r for r in rules if r.enabled]
    for rep in reports:
        needs = unmet_needs(rules, present.get(rep.path, set()), given)
        rep.skipped_needs = needs
        rep.skipped_detectors = {d: why(n) for d, n in needs.items()}
