"""Property: whatever rows a CSV holds, every record is accounted for exactly once."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from ingest import read_orders

HEADER = ["order_id", "store_id", "created_at", "sku", "quantity", "备注"]
CFG = load_config()

ident = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
anytext = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                  max_size=12)
valid = st.tuples(
    st.just("valid"),
    st.builds(lambda o, s, k, q, n: [o, s, "2026-09-01 13:05:00", k, str(q), n],
              ident, ident, ident, st.integers(-5, 500), anytext),
)
empty_required = st.tuples(
    st.just("invalid"),
    st.builds(lambda o, i: [o if i else "", "" if i else "S1", "2026-09-01", "K", "1", ""],
              ident, st.booleans()),
)
garbage_qty = st.tuples(
    st.just("invalid"),
    st.builds(lambda o, g: [o, "S1", "2026-09-01", "K", "x" + g, "n"], ident, anytext),
)
garbage = st.tuples(st.just("any"), st.lists(anytext, min_size=6, max_size=6))
ragged = st.tuples(
    st.just("ragged"),
    st.lists(anytext, min_size=1, max_size=10).filter(lambda r: len(r) != 6),
)
rows_strategy = st.lists(st.one_of(valid, empty_required, garbage_qty, garbage, ragged),
                         max_size=40)


def write_csv(rows, sep, terminator, blank_every):
    """CSV text + the physical start line of each record (header = line 1)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=terminator)
    w.writerow(HEADER)
    starts = []
    for i, (_, row) in enumerate(rows):
        if blank_every and i % blank_every == 0:
            buf.write(terminator)  # a blank line is not a record
        starts.append(buf.getvalue().count("\n") + 1)
        w.writerow(row)
    return buf.getvalue(), starts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows_strategy,
    sep=st.sampled_from([",", "\t", ";", "|"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    blank_every=st.sampled_from([0, 3]),
)
def test_every_record_accounted_for_once(rows, sep, terminator, encoding, blank_every):
    text, starts = write_csv(rows, sep, terminator, blank_every)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "prop.csv"
        path.write_bytes(text.encode(encoding))
        res = read_orders([path], CFG)
    assert res.read == len(rows)
    assert res.read == res.accepted + res.quarantined
    assert res.files[0].read == res.files[0].accepted + res.files[0].quarantined
    accepted = res.lines["source_line"].to_list()
    quarantined = res.quarantine["line"].to_list()
    assert sorted(accepted + quarantined) == starts  # each line exactly once
    line_of = dict(zip(starts, rows))
    for ln in accepted:
        assert line_of[ln][0] in ("valid", "any")
    for ln, reason in zip(quarantined, res.quarantine["reason"].to_list()):
        kind = line_of[ln][0]
        assert kind in ("invalid", "any", "ragged")
        if kind == "ragged":
            assert reason.startswith("列数不符: 期望 6 列")
    for ln in (s for s, (k, _) in line_of.items() if k == "valid"):
        assert ln in accepted
    ids = dict(zip(accepted, res.lines["order_id"].to_list()))
    for ln in accepted:
        if line_of[ln][0] == "valid":
            assert ids[ln] == line_of[ln][1][0]
