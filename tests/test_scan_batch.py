"""The scan's batch: its lines are handed on in one chunk per column (``orderwatch.scan_batch``)."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from orderwatch.scan_batch import contiguous


def _chunked(parts: int) -> pl.DataFrame:
    rows = [pl.DataFrame({"store_id": [f"s{i % 7}", None], "quantity": [float(i), None],
                          "at": pl.Series([i, i + 1]).cast(pl.Datetime("us"))}) for i in range(parts)]
    return pl.concat(rows, rechunk=False)


def test_contiguous_rechunks_every_column_and_keeps_the_rows() -> None:
    frame = _chunked(40)
    assert set(frame.n_chunks("all")) == {40}
    columns = frame.get_columns()
    out = contiguous(columns)
    assert out.n_chunks("all") == [1, 1, 1]
    assert columns == []                      # handed over: no second copy of the batch is held
    assert_frame_equal(out, frame)


def test_contiguous_keeps_an_empty_or_one_chunk_frame() -> None:
    empty = pl.DataFrame(schema={"store_id": pl.String, "quantity": pl.Float64})
    assert_frame_equal(contiguous(empty.get_columns()), empty)
    one = pl.DataFrame({"a": [1, 2, 3]})
    assert_frame_equal(contiguous(one.get_columns()), one)
