"""The UCI Online Retail data: real orders with real mistakes.

Invoices 581483 (80,995 × 23843) and 541431 (74,215 × 23166) were keyed in by mistake and
cancelled minutes later; a good scan flags both, whether the data comes as CSV, Parquet or Excel.
The CSV slice in tests/data runs everywhere; the full data set only where ../shared is present.
"""

import json
from datetime import datetime

import polars as pl

from orderwatch.scan import run_scan
from tests.shared_data import ONLINE_RETAIL_SLICE, shared

MISTAKES = {"581483": "16446", "541431": "12346"}
AS_OF = datetime(2011, 12, 10)


def _assert_mistakes_flagged(flags: pl.DataFrame) -> None:
    for order, store in MISTAKES.items():
        hits = flags.filter(pl.col("order_id") == order)
        kinds = set(hits["kind"])
        # the order's amount is a consequence of the mistaken line: one flag with both findings
        # (issue 8's inhibition), or a flag of its own where no inhibition applies
        explained = {e["kind"] for ev in hits["evidence"].drop_nulls() for e in json.loads(ev).get("explains", [])}
        assert "volume_surge" in kinds and "amount_spike" in kinds | explained, (order, kinds, explained)
        assert set(hits["store_id"]) == {store}
        assert "critical" in set(hits["level"])


def test_slice_in_the_repository_flags_both_bulk_mistakes(tmp_path, site_config):
    """From a bare clone: the committed slice (both customers' lines and 150 others')."""
    result = run_scan([ONLINE_RETAIL_SLICE], site_config, db_url=f"sqlite:///{tmp_path / 'or.db'}", as_of=AS_OF)
    assert result.reconciled and result.read == 12_406
    assert result.quarantined == 40                   # the guest lines: no customer id = no store
    _assert_mistakes_flagged(result.flags)
    assert not result.flags.filter(pl.col("order_id").str.starts_with("C") & (pl.col("kind") == "volume_surge")).height
    # the mistakes are the worst of the batch, not two among many criticals
    crit = result.flags.filter((pl.col("level") == "critical") & (pl.col("kind") == "volume_surge"))
    assert set(MISTAKES) <= set(crit["order_id"]) and crit.height <= 10, crit.select("order_id", "reason")


def test_parquet_scan_flags_both_bulk_mistakes(tmp_path, site_config):
    data = shared("data/online_retail/online_retail.parquet")
    result = run_scan([data], site_config, db_url=f"sqlite:///{tmp_path / 'or.db'}", as_of=AS_OF)
    assert result.read == 541_909 and result.reconciled
    assert result.quarantined == 135_080        # guest lines: no customer id = no store
    _assert_mistakes_flagged(result.flags)
    # cancellations survive as strings and are not themselves flagged as surges
    assert not result.flags.filter(pl.col("order_id").str.starts_with("C") & (pl.col("kind") == "volume_surge")).height


def test_excel_path_flags_both_bulk_mistakes(tmp_path, site_config):
    """History from the real workbook, then the two mistaken days as a workbook of their own."""
    workbook_in = shared("data/online_retail/online_retail_first49999.xlsx")
    parquet = shared("data/online_retail/online_retail.parquet")
    db = f"sqlite:///{tmp_path / 'or.db'}"
    first = run_scan([workbook_in], site_config, db_url=db, as_of=AS_OF)
    assert first.read == 49_999 and first.reconciled
    days = (
        pl.read_parquet(parquet)
        .filter(pl.col("InvoiceDate").str.slice(0, 10).is_in(["2011-01-18", "2011-12-09"]))
    )
    workbook = tmp_path / "online_retail_mistake_days.xlsx"
    days.write_excel(workbook)
    second = run_scan([workbook], site_config, db_url=db, as_of=AS_OF)
    assert second.read == days.height and second.reconciled
    _assert_mistakes_flagged(second.flags)
