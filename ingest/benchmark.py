"""Time ``read_orders`` against a bare ``pl.read_csv`` on a generated order CSV.

    python -m ingest.benchmark [--rows 1000000] [--dir DIR] [--repeat 5]

The file has 25 columns named the way a Chinese ERP export names them (every value is
well-formed, so this measures the fast path).  Runs are interleaved and the minimum of each
is reported, because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl


def generate(path: Path, rows: int) -> Path:
    i = pl.col("i")
    base = pl.datetime(2026, 9, 1)

    def ts(offset_s: int) -> pl.Expr:
        return (base + pl.duration(seconds=i * 2 + offset_s)).dt.strftime("%Y-%m-%d %H:%M:%S")

    df = pl.select(i=pl.int_range(rows)).select(
        (pl.lit("SO") + (i // 3).cast(pl.String)).alias("订单号"),
        (i % 3 + 1).cast(pl.String).alias("行号"),
        (pl.lit("S") + (i % 300).cast(pl.String).str.zfill(4)).alias("门店编号"),
        (pl.lit("门店") + (i % 300).cast(pl.String)).alias("门店名称"),
        ts(0).alias("下单时间"),
        ts(60).alias("确认时间"),
        ts(120).alias("支付时间"),
        ts(3600).alias("拣货时间"),
        ts(7200).alias("发货时间"),
        ts(86400).alias("签收时间"),
        pl.lit("已签收").alias("订单状态"),
        (pl.lit("K") + (i % 5000).cast(pl.String)).alias("商品编码"),
        (pl.lit("商品") + (i % 5000).cast(pl.String)).alias("商品名称"),
        (i % 7 + 1).cast(pl.String).alias("数量"),
        ((i % 100) / 4 + 1).cast(pl.String).alias("单价"),
        ((i % 7 + 1) * ((i % 100) / 4 + 1)).cast(pl.String).alias("金额"),
        (i % 1000).cast(pl.String).alias("订单金额"),
        (i % 1000).cast(pl.String).alias("实付金额"),
        pl.lit("微信支付").alias("支付方式"),
        pl.lit("张三").alias("收货人"),
        (pl.lit("138") + (i % 100_000_000).cast(pl.String).str.zfill(8)).alias("联系电话"),
        pl.lit("上海").alias("省份"),
        pl.lit("上海市").alias("城市"),
        pl.lit("徐汇区").alias("区县"),
        (pl.lit("漕溪北路") + (i % 999).cast(pl.String) + "号").alias("详细地址"),
    )
    df.write_csv(path)
    return path


def main(argv: list[str] | None = None) -> None:
    from contracts.config import load_config

    from . import read_orders

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="ingest_bench_") as d:
        path = generate(Path(d) / "orders.csv", args.rows)
        print(f"{path}: {args.rows:,} lines, {path.stat().st_size / 1e6:.0f} MB, 25 columns")
        cfg = load_config()
        runs: dict[str, list[float]] = {"inferred": [], "strings": [], "ingest": []}
        jobs = {
            "inferred": lambda: pl.read_csv(path),
            "strings": lambda: pl.read_csv(path, infer_schema=False),
            "ingest": lambda: read_orders([path], cfg),
        }
        for _ in range(args.repeat):
            for name, job in jobs.items():
                t = time.perf_counter()
                out = job()
                runs[name].append(time.perf_counter() - t)
        best = {k: min(v) for k, v in runs.items()}
        print(f"bare pl.read_csv (type inference):      {best['inferred']:.3f}s")
        print(f"bare pl.read_csv (infer_schema=False):  {best['strings']:.3f}s")
        print(
            f"read_orders:                            {best['ingest']:.3f}s"
            f"  = {best['ingest'] / best['inferred']:.2f}x / {best['ingest'] / best['strings']:.2f}x"
        )
        print(f"accepted {out.accepted:,} of {out.read:,}")


if __name__ == "__main__":
    main()
