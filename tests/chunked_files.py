"""Files that a reader in byte-range parts gets wrong unless it reads as the whole read does.

Each writer makes a file whose cuts must respect quoted newlines, whose orders span the cuts,
whose date order is decided only by rows far from the sampled ones, or whose store name is
printed on an order's first line only.  ``tests/test_ray_read.py`` reads them in parts
(in this process and on Ray) and compares with ``ingest.read_orders`` of the whole file.
"""

from __future__ import annotations

import random
from pathlib import Path


def gbk_quoted_newlines(path: Path, orders: int = 900, seed: int = 5) -> Path:
    """GBK; notes with quoted newlines and ``""``; ragged rows, an empty quantity, an unreadable
    date, a stray quote that swallows rows, and a quote that never closes at the end.  Orders of
    1–4 lines, no line-number column (positions are counted per order)."""
    rnd = random.Random(seed)
    out = ["订单号,门店编号,门店名称,下单时间,商品编码,数量,单价,备注"]
    for o in range(1, orders + 1):
        store = f"S{o % 37:02d}"
        when = f"2026-09-{1 + o % 28:02d} {8 + o % 12:02d}:{o % 60:02d}:00"
        for k in range(rnd.randint(1, 4)):
            note = rnd.choice(["", "普通", '"第一行\n第二行"', '"含""引号""的备注"', '"多行\n\n含空行"'])
            qty = str(rnd.randint(1, 40))
            if o % 97 == 0 and k == 0:
                qty = ""                                     # an empty quantity: quarantined
            row = f"D{o:05d},{store},门店{store},{when},K{rnd.randint(1, 60):03d},{qty},{rnd.randint(5, 90)}.5,{note}"
            if o % 131 == 0 and k == 0:
                row += ",多余的列"                            # ragged
            if o % 211 == 0 and k == 0:
                row = row.replace(when, "2026-13-45 99:00")   # an unreadable date
            out.append(row)
        if o == orders // 2:
            out.append(f'D{o:05d}X,S01,"门店S01,{when},K001,1,5.5,')   # a stray quote ...
            out.extend(f"D{o:05d}Y{i},S01,门店S01,{when},K002,1,5.5," for i in range(3))  # ... that swallows rows
            out.append('D9Z,S01,门店S01,2026-09-01 10:00:00,K003,1,5.5,"收尾"')
    out.append('D99999,S01,门店S01,2026-09-01 10:00:00,K001,2,5.5,"从不闭合')
    out.extend(f"D99999,S01,门店S01,2026-09-01 10:00:00,K00{i},2,5.5," for i in range(2, 5))
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("gbk"))
    return path


def late_day_first(path: Path, rows: int = 3000) -> Path:
    """UTF-8; dates as 05/03/2026 whose day/month order only rows outside every sample decide
    (a day above 12 at row 1,500 only); store names on each order's first line only, no store
    code; every order's lines contiguous and crossing cuts."""
    out = ["订单编号,店铺名称,下单时间,商品编码,数量,单价"]
    r, o = 0, 0
    while r < rows:
        o += 1
        n = 1 + o % 5
        for k in range(n):
            day = 13 + o % 10 if r == 1500 else 1 + o % 12
            shop = f"Shop {o % 23}" if k == 0 else ""
            out.append(f"#{o},{shop},{day:02d}/{1 + o % 12:02d}/2026 10:{o % 60:02d},P{(o * 7 + k) % 90},{1 + k},{9.5 + k}")
            r += 1
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def interleaved_orders_jsonl(path: Path, lines: int = 2500, seed: int = 9) -> Path:
    """JSON lines; an order's lines scattered over the file (positions count across every cut);
    keys that only some records carry; a malformed line and a non-object line."""
    import json
    rnd = random.Random(seed)
    out = []
    for i in range(lines):
        rec = {"order_no": f"J{rnd.randint(1, 400)}", "store": f"T{rnd.randint(1, 30)}",
               "created": f"2026-10-{1 + i % 28:02d}T09:{i % 60:02d}:00", "sku": f"Q{rnd.randint(1, 50)}",
               "qty": rnd.randint(1, 9)}
        if i > lines * 0.8:
            rec["coupon"] = f"C{i}"                     # a key first seen late
        out.append(json.dumps(rec, ensure_ascii=False))
        if i == lines // 3:
            out.append('{"order_no": "broken", "qty": ')
        if i == 2 * lines // 3:
            out.append('["not", "an", "object"]')
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path
