"""The detection benchmark's worlds keep their own promises (``bench/worlds``): the same seed
gives the same files, the truth refers to what the files contain, every world seeds what its
spec claims and the clean one nothing, the files open as exported, and the scoring counts
right.  Detection quality itself is not tested here: ``bench/detect_bench.py`` measures it.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime

import polars as pl
import pytest

from bench.scoring import bench_kinds, score_world
from bench.worlds import SPECS, World, build_world, generate
from bench.worlds.dialects import DIALECTS
from bench.worlds.seed_base import STORE_DAY_KINDS
from contracts.schema import REQUIRED


def small(name: str) -> object:
    """The named world at a fifth of its size, four of each anomaly it seeds."""
    s = SPECS[name]
    return dataclasses.replace(s, stores=60, weeks=5, openings=6, late_openings=2,
                               seeds={k: 4 for k in s.seeds})


def read_export(world: World) -> pl.DataFrame:
    """The order file as a user's spreadsheet tool would open it: all text."""
    d = DIALECTS[world.spec.dialect]
    path = world.order_files[0]
    if d.fmt == "xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    text = path.read_bytes().decode(d.encoding)
    return pl.read_csv(io.StringIO(text), infer_schema=False)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, World]:
    out = tmp_path_factory.mktemp("worlds")
    return {n: build_world(n, 3, out, spec=small(n)) for n in SPECS}


def test_the_same_seed_writes_the_same_files_another_seed_other_ones(tmp_path):
    a = build_world("erp_cases", 5, tmp_path / "a", spec=small("erp_cases"))
    b = build_world("erp_cases", 5, tmp_path / "b", spec=small("erp_cases"))
    c = build_world("erp_cases", 6, tmp_path / "c", spec=small("erp_cases"))
    for name in (a.order_files[0].name, a.catalog_file.name, "truth.csv", "mapping.yaml"):
        assert (tmp_path / "a/erp_cases" / name).read_bytes() == (tmp_path / "b/erp_cases" / name).read_bytes()
    assert a.truth.equals(b.truth)
    assert a.order_files[0].read_bytes() != c.order_files[0].read_bytes()
    assert not a.truth.equals(c.truth)


def test_files_open_with_their_own_headers_and_every_line(worlds):
    for w in worlds.values():
        d = DIALECTS[w.spec.dialect]
        df = read_export(w)
        assert df.columns == [c.header for c in d.columns], w.name
        assert df.height == w.lines, w.name
        if w.spec.catalog:
            cat = (pl.read_excel(w.catalog_file) if w.catalog_file.suffix == ".xlsx"
                   else pl.read_csv(w.catalog_file))
            assert cat.columns == [c.header for c in d.catalog_columns]
            assert cat.height > 20
    assert worlds["erp_cases"].order_files[0].read_bytes().decode("gbk")  # GBK, as that ERP writes
    assert worlds["weekly_marketplace"].order_files[0].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM


def test_the_mapping_names_headers_that_exist_and_every_required_field(worlds):
    for w in worlds.values():
        cols = w.site_mapping()["sources"][0]["columns"]
        assert set(cols.values()) <= set(read_export(w).columns), w.name
        assert set(REQUIRED) <= set(cols), w.name


def test_truth_refers_to_orders_and_store_days_in_the_file(worlds):
    for w in worlds.values():
        df = read_export(w)
        ids = set(df.get_column(w.columns["order_id"]).to_list())
        assert set(w.truth.get_column("order_id").to_list()) <= ids, w.name
        fmt = DIALECTS[w.spec.dialect].time_format
        store_days = set(df.select(pl.concat_str(
            pl.col(w.columns["store_id"]), pl.lit("|"),
            pl.col(w.columns["created_at"]).str.to_datetime(fmt).dt.strftime("%Y-%m-%d"))).to_series().to_list())
        keys = w.truth.filter(pl.col("kind").is_in(STORE_DAY_KINDS)).get_column("key").to_list()
        assert set(keys) <= store_days, w.name
        assert w.truth.select(pl.col("role").is_in(["anomaly", "consequence", "decoy"]).all()).item()
        assert w.truth.select("kind", "key").is_unique().all()


def test_the_clean_world_seeds_nothing(worlds):
    truth = worlds["clean"].truth
    assert truth.filter(pl.col("role") != "decoy").height == 0
    assert truth.height > 0  # its look-alikes (promotion day, late-but-done) are written down


def test_every_full_size_world_seeds_what_it_claims():
    for name, spec in SPECS.items():
        s, _ = generate(spec, 1)
        got = dict(s.truth_frame().filter(pl.col("role") == "anomaly").group_by("kind").len().iter_rows())
        assert got == {k: v for k, v in spec.seeds.items() if v}, name
        assert s.orders.height >= 10_000 and spec.stores >= 200, name
        assert all(v / s.orders.height < 0.01 for v in got.values()), name  # realistic rates


def test_seeded_anomalies_stand_apart_from_normal_days():
    """An extra zero is >= 5x the store's usual line and a high-value order >= 8x the store's
    median and above its largest normal order, while no normal line comes near: the truth is
    not a matter of taste."""
    s, _ = generate(small("erp_cases"), 2)
    truth = s.truth_frame()
    seeded = set(truth.filter(pl.col("role") != "decoy").get_column("order_id").to_list())
    lines = (s.lines.join(s.orders.select("order_id", "store_id", "doc_type"), on="order_id")
             .join(s.assort.select("store_id", "sku", "usual_qty"), on=["store_id", "sku"])
             .filter((pl.col("doc_type") == "order") & (pl.col("quantity") > 0))
             .with_columns((pl.col("quantity") / pl.col("usual_qty")).alias("r")))
    zero = set(truth.filter((pl.col("kind") == "line_qty_outlier") & (pl.col("role") == "anomaly"))["order_id"])
    worst_seeded = lines.filter(pl.col("order_id").is_in(list(zero))).group_by("order_id").agg(pl.col("r").max())
    normal = lines.filter(~pl.col("order_id").is_in(list(seeded)))
    assert worst_seeded.get_column("r").min() >= 5.0
    assert normal.get_column("r").max() < 5.0
    spikes = truth.filter((pl.col("kind") == "amount_spike") & (pl.col("role") == "anomaly"))
    orders = s.orders.filter(pl.col("doc_type") == "order")
    normal_orders = (orders.filter(~pl.col("order_id").is_in(list(seeded))).group_by("store_id")
                     .agg(pl.col("order_amount").median().alias("m"), pl.col("order_amount").max().alias("most")))
    ratio = spikes.join(orders.select("order_id", "order_amount"), on="order_id").join(normal_orders, on="store_id")
    assert (ratio["order_amount"] / ratio["m"]).min() >= 8.0
    assert (ratio["order_amount"] / ratio["most"]).min() >= 1.2


def _flag(rule: str, kind: str, subject: str, order_id: str | None, store: str, day: str) -> dict:
    return {"rule_id": rule, "kind": kind, "subject": subject, "order_id": order_id, "store_id": store,
            "store_name": f"name-{store}", "occurred_at": datetime.fromisoformat(day + " 14:00")}


def test_scoring_counts_true_false_missed_accepted_and_decoys():
    day = datetime(2026, 9, 1).date()
    truth = pl.DataFrame([
        {"kind": "line_qty_outlier", "key": "O1", "order_id": "O1", "store_id": "S1", "day": day, "role": "anomaly"},
        {"kind": "line_qty_outlier", "key": "O2", "order_id": "O2", "store_id": "S1", "day": day, "role": "anomaly"},
        {"kind": "amount_spike", "key": "O1", "order_id": "O1", "store_id": "S1", "day": day, "role": "consequence"},
        {"kind": "duplicate_order", "key": "O9", "order_id": "O9", "store_id": "S2", "day": day, "role": "decoy"},
        {"kind": "store_day_surge", "key": "name-S3|2026-09-01", "order_id": "O5", "store_id": "S3", "day": day,
         "role": "anomaly"},
    ])
    flags = pl.DataFrame([
        _flag("line_qty_outlier", "volume_surge", "order:x:S1:O1", "O1", "S1", "2026-09-01"),
        _flag("line_qty_outlier", "volume_surge", "order:x:S1:O1", "O1", "S1", "2026-09-01"),  # same key twice
        _flag("line_qty_outlier", "volume_surge", "order:x:S1:O7", "O7", "S1", "2026-09-01"),
        _flag("order_amount_spike", "amount_spike", "order:x:S1:O1", "O1", "S1", "2026-09-01"),
        _flag("duplicate_order_entry", "duplicate_order", "order:x:S2:O9", "O9", "S2", "2026-09-01"),
        _flag("store_day_surge", "volume_surge", "store_day:S3:2026-09-01", "O5", "S3", "2026-09-01"),
    ])
    assert bench_kinds(flags).to_list() == ["line_qty_outlier"] * 3 + ["amount_spike", "duplicate_order",
                                                                        "store_day_surge"]
    score = score_world("w", truth, flags, orders=1000)
    by = {k.kind: k for k in score.kinds}
    line = by["line_qty_outlier"]
    assert (line.tp, line.fp, line.fn, line.recall, line.precision) == (1, 1, 1, 0.5, 0.5)
    assert (by["amount_spike"].accepted, by["amount_spike"].fp) == (1, 0)
    assert (by["duplicate_order"].fp, by["duplicate_order"].decoys) == (1, 1)
    assert by["store_day_surge"].tp == 1          # matched by store name, as the truth knows it
    assert score.unseeded_false_alarms == 1        # the duplicate: a kind this world does not seed
    assert not all(ok for _, ok in score.checks())


def test_a_finding_inside_its_causes_flag_is_scored_as_found():
    """An inhibited consequence is in the queue as a finding of its cause's flag: a seeded amount
    spike found that way is a true positive, an unseeded store-day finding a false one."""
    day = datetime(2026, 9, 1).date()
    truth = pl.DataFrame([
        {"kind": "amount_spike", "key": "O1", "order_id": "O1", "store_id": "S1", "day": day, "role": "anomaly"},
        {"kind": "line_qty_outlier", "key": "O1", "order_id": "O1", "store_id": "S1", "day": day, "role": "consequence"},
        {"kind": "amount_spike", "key": "O2", "order_id": "O2", "store_id": "S1", "day": day, "role": "anomaly"},
    ])
    explains = json.dumps({"explains": [
        {"rule_id": "order_amount_spike", "kind": "amount_spike", "figures": {"amount_ratio": 9.1}},
        {"rule_id": "store_day_surge", "kind": "volume_surge", "figures": {}}]})
    flags = pl.DataFrame([{**_flag("line_qty_outlier", "volume_surge", "line:x:S1:O1:1", "O1", "S1", "2026-09-01"),
                           "evidence": explains}])
    by = {k.kind: k for k in score_world("w", truth, flags, orders=1000).kinds}
    assert (by["amount_spike"].tp, by["amount_spike"].fn) == (1, 1)            # O1 found inside the line flag
    assert (by["line_qty_outlier"].accepted, by["line_qty_outlier"].fp) == (1, 0)
    assert (by["store_day_surge"].fp, by["store_day_surge"].tp) == (1, 0)      # S1|2026-09-01 was not seeded


def test_flags_of_renamed_or_new_rules_find_their_kind():
    flags = pl.DataFrame([
        _flag("picking_overdue", "stage_overdue", "order:x:S1:O1", "O1", "S1", "2026-09-01"),
        _flag("delivery_overdue", "stage_overdue", "order:x:S1:O2", "O2", "S1", "2026-09-01"),
        _flag("handover_overdue", "stage_overdue", "order:x:S1:O3", "O3", "S1", "2026-09-01"),
        _flag("picking_overdue", "stale_picking", "order:x:S1:O4", "O4", "S1", "2026-09-01"),
    ])
    assert bench_kinds(flags).to_list() == ["picking_overdue", "delivery_overdue", "handover_overdue",
                                            "picking_overdue"]


def test_store_masters_are_read_by_meaning_and_give_every_cod_store_a_limit(worlds):
    from ingest.store_master import read_store_master

    for w in worlds.values():
        if not w.spec.store_master:
            assert w.stores_file is None
            continue
        m = read_store_master(w.stores_file)
        assert {"store_id", "credit_limit"} <= set(m.mapping), (w.name, m.mapping)
        assert m.quarantine.height == 0 and m.stores.height == w.spec.stores, w.name
        assert m.limits.height > 0, w.name


def test_a_store_day_flagged_by_the_stores_name_matches_a_truth_keyed_by_its_id():
    """A B2B Shopify export is read by its buying company (Billing Company) while the world
    keys its stores by e-mail: the same store-day, scored as one."""
    day = datetime(2026, 9, 1).date()
    truth = pl.DataFrame([{"kind": "store_day_surge", "key": "a@x.com|2026-09-01", "order_id": "O5",
                           "store_id": "a@x.com", "store_name": "name-Acme", "day": day, "role": "anomaly"}])
    flags = pl.DataFrame([_flag("store_day_surge", "volume_surge", "store_day:Acme:2026-09-01", "O5", "Acme",
                                "2026-09-01")])
    by = {k.kind: k for k in score_world("w", truth, flags, orders=100).kinds}
    assert (by["store_day_surge"].tp, by["store_day_surge"].fp) == (1, 0)
