"""The UCI Online Retail data: real orders with real mistakes.

Invoices 581483 (80,995 × 23843) and 541431 (74,215 × 23166) were keyed in by mistake and
cancelled minutes later; a good scan flags both, whether the data comes as Parquet or Excel.
"""

from datetime import datetime

import polars as pl

from orderwatch.scan import run_scan
from tests.conftest import SHARED

DATA = SHARED / "data" / "online_retail"
MISTAKES = {"581483": "16446", "541431": "12346"}
AS_OF = datetime(2011, 12, 10)


def _assert_mistakes_flagged(flags: pl.DataFrame) -> None:
    for order, store in MISTAKES.items():
        hits = flags.filter(pl.col("order_id") == order)
        kinds = set(hits["kind"])
        assert {"volume_surge", "amount_spike"} <= kinds, (order, kinds)
        assert set(hits["store_id"]) == {store}
        assert "critical" in set(hits["level"])


def test_parquet_scan_flags_both_bulk_mistakes(tmp_path, site_config):
    result = run_scan([DATA / "online_retail.parquet"], site_config,
                      db_url=f"sqlite:///{tmp_path / 'or.db'}", as_of=AS_OF)
    assert result.read == 541_909 and result.reconciled
    assert result.quarantined == 135_080        # guest lines: no customer id = no store
    _assert_mistakes_flagged(result.flags)
    # cancellations survive as strings and are not themselves flagged as surges
    assert not result.flags.filter(pl.col("order_id").str.starts_with("C") & (pl.col("kind") == "volume_surge")).height


def test_excel_path_flags_both_bulk_mistakes(tmp_path, site_config):
    """History from the real workbook, then the two mistaken days as a workbook of their own."""
    db = f"sqlite:///{tmp_path / 'or.db'}"
    first = run_scan([DATA / "online_retail_first49999.xlsx"], site_config, db_url=db, as_of=AS_OF)
    assert first.read == 49_999 and first.reconciled
    days = (
        pl.read_parquet(DATA / "online_retail.parquet")
        .filter(pl.col("InvoiceDate").str.slice(0, 10).is_in(["2011-01-18", "2011-12-09"]))
    )
    workbook = tmp_path / "online_retail_mistake_days.xlsx"
    days.write_excel(workbook)
    second = run_scan([workbook], site_config, db_url=db, as_of=AS_OF)
    assert second.read == days.height and second.reconciled
    _assert_mistakes_flagged(second.flags)
