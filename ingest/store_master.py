"""The store master (门店档案): one row per store — its id, name, region, credit limit and how to
reach its manager — read like the catalog: any format the orders come in (CSV in any encoding,
Excel, JSON), headers by meaning (``ingest.store_words``), ``stores.columns`` winning.

Why a file of its own: a credit limit is a fact about a store, agreed with it, not a property
of the platform's orders; cash-on-delivery risk is judged against it (``detectors.credit_limit``),
and the manager's e-mail or webhook is where that store's alerts go (``alerts.store_contacts``
may come from here).  Every row is accepted or quarantined with its reason: a row without a
store id, a credit limit that is not a number (or is negative), a store listed twice (the last
row wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contracts import schema
from contracts.config import Config

from .orders import empty_quarantine, raw_json
from .profile import profiles, sample_rows
from .readers import LINE, read_table
from .store_words import FIELDS, recognise
from .values import clean_text, parse_number

STORES: dict[str, pl.DataType] = {
    "store_id": pl.String(), "store_name": pl.String(), "region": pl.String(), "credit_limit": pl.Float64(),
    "manager": pl.String(), "phone": pl.String(), "email": pl.String(), "webhook": pl.String(),
}


@dataclass
class StoreMaster:
    """The stores read from ``path``, what was quarantined, and how its columns were read."""

    path: str
    stores: pl.DataFrame                       # STORES, one row per store id
    quarantine: pl.DataFrame                   # schema.QUARANTINE
    mapping: dict[str, str] = field(default_factory=dict)   # field -> header
    how: dict[str, str] = field(default_factory=dict)       # field -> alias | meaning | value | config
    unused: dict[str, str] = field(default_factory=dict)    # header -> why

    @property
    def rows(self) -> int:
        return self.stores.height + self.quarantine.height

    @property
    def limits(self) -> pl.DataFrame:
        """store_id -> credit_limit, for the stores that have one."""
        return self.stores.filter(pl.col("credit_limit").is_not_null()).select("store_id", "credit_limit")

    def keyed_to(self, store_ids: set[str]) -> "StoreMaster":
        """The master keyed by whichever of its columns names the orders' stores best — its code,
        else its name or e-mail (a Shopify export knows its shops by e-mail, a multi-shop export
        by name): the values decide, as they do for ambiguous headers."""
        best, hits = "store_id", self._overlap("store_id", store_ids)
        for f in ("store_name", "email"):
            n = self._overlap(f, store_ids)
            if n > hits:
                best, hits = f, n
        if best == "store_id":
            return self
        stores = (self.stores.filter(pl.col(best).is_not_null()).with_columns(pl.col(best).alias("store_id"))
                  .unique(subset="store_id", keep="last", maintain_order=True))
        return StoreMaster(self.path, stores, self.quarantine, {**self.mapping, "store_id": self.mapping[best]},
                           {**self.how, "store_id": f"its {best} names the orders' stores"}, self.unused)

    def _overlap(self, field_name: str, store_ids: set[str]) -> int:
        if field_name not in self.mapping or not store_ids:
            return 0
        return int(self.stores[field_name].is_in(list(store_ids)).sum())

    def summary(self) -> str:
        cols = ", ".join(f"{h} → {f}" for f, h in self.mapping.items())
        return (f"store master {Path(self.path).name}: {self.stores.height:,} stores, "
                f"{self.limits.height:,} with a credit limit, {self.quarantine.height:,} rows quarantined; "
                f"columns: {cols or 'none recognised'}")


def _shapes(raw: pl.DataFrame, headers: list[str]) -> dict[str, dict[str, float]]:
    """Per header: the share of e-mail addresses and of web addresses among its values."""
    sample = sample_rows(raw.select(headers))
    out = {}
    for h in headers:
        v = sample[h].drop_nulls().str.strip_chars()
        v = v.filter(v != "")
        n = max(v.len(), 1)
        out[h] = {"email": v.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").sum() / n,
                  "url": v.str.contains(r"^https?://").sum() / n}
    return out


def _reason(pieces: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str(pieces, separator="；", ignore_nulls=True)


def read_store_master(path: str | Path, config: Config | None = None) -> StoreMaster:
    """Read one store master file (see the module docstring)."""
    table = read_table(path)
    raw, headers, file = table.frame, table.headers, str(path)
    explicit = {str(k): str(v) for k, v in ((config.get("stores.columns") if config else None) or {}).items()}
    mapping, how, unused = recognise(headers, profiles(raw, headers), _shapes(raw, headers), explicit)
    if "store_id" not in mapping:
        # no store code: the store is known by its name (as the orders then know it), or its e-mail
        for f in ("store_name", "email"):
            if f in mapping:
                mapping, how = {"store_id": mapping[f], **mapping}, {"store_id": f"derived from {f}", **how}
                break
    text = raw.select(pl.col(LINE), *[clean_text(pl.col(h)).alias(f) for f, h in mapping.items()])
    limit, bad_limit = (parse_number(text["credit_limit"]) if "credit_limit" in text.columns
                        else (pl.Series("credit_limit", [None] * raw.height, dtype=pl.Float64),
                              pl.Series([False] * raw.height)))
    typed = text.with_columns(limit.alias("credit_limit"), bad_limit.alias("_bad_limit"),
                              pl.col("credit_limit").alias("_limit_text") if "credit_limit" in text.columns
                              else pl.lit(None, dtype=pl.String).alias("_limit_text"))
    if "store_id" not in typed.columns:
        typed = typed.with_columns(pl.lit(None, dtype=pl.String).alias("store_id"))
    ok = pl.col("store_id").is_not_null() & ~pl.col("_bad_limit") & ~(pl.col("credit_limit") < 0).fill_null(False)
    typed = typed.with_columns(
        pl.when(ok).then(pl.col(LINE).filter(ok).last().over("store_id")).alias("_last"))
    dup = ok & (pl.col("_last") != pl.col(LINE))
    seen = ", ".join(headers) or "(无)"
    pieces = [
        pl.when(pl.col("store_id").is_null()).then(pl.lit(
            "必填字段为空: 门店编号 (store_id)" if "store_id" in mapping
            else f"缺少必需列: 门店编号 (store_id)；文件表头: {seen}")),
        pl.when(pl.col("_bad_limit")).then(pl.format("信用额度无法解析: '{}' (credit_limit)", pl.col("_limit_text"))),
        pl.when(pl.col("credit_limit") < 0).then(pl.format("信用额度为负数: '{}' (credit_limit)",
                                                           pl.col("_limit_text"))),
        pl.when(dup).then(pl.format("门店重复: '{}'，以第 {} 行为准", pl.col("store_id"), pl.col("_last"))),
    ]
    flagged = typed.with_columns(_reason(pieces).alias("_reason"))
    bad = flagged.filter(pl.col("_reason") != "")
    quarantine = empty_quarantine()
    if bad.height:
        raws = raw.join(bad.select(LINE, "_reason"), on=LINE, how="inner")
        quarantine = raws.select(pl.lit(file).alias("source_file"), pl.col(LINE).alias("line"),
                                 pl.col("_reason").alias("reason"), raw_json(headers).alias("raw"))
    reader_q = table.bad.select(pl.lit(file).alias("source_file"), "line", "reason", "raw")
    quarantine = pl.concat([reader_q.cast(schema.QUARANTINE), quarantine.cast(schema.QUARANTINE)]).sort("line")
    accepted = flagged.filter(pl.col("_reason") == "")
    stores = accepted.with_columns([pl.lit(None, dtype=t).alias(n) for n, t in STORES.items()
                                    if n not in accepted.columns]).select(
        [pl.col(n).cast(t) for n, t in STORES.items()])
    return StoreMaster(file, stores, quarantine, mapping, how, unused)


def store_master_path(config: Config) -> Path | None:
    """``stores.file`` resolved against the config's directory (None: no store master)."""
    value = config.get("stores.file")
    if not value:
        return None
    p = Path(str(value).replace("{instance_dir}", str(config.instance_dir)))
    return p if p.is_absolute() else config.base_dir / p


def load_store_master(config: Config) -> StoreMaster | None:
    path = store_master_path(config)
    return read_store_master(path, config) if path is not None else None


_CACHE: dict[str, tuple[tuple[int, int], StoreMaster]] = {}


def cached_store_master(config: Config) -> StoreMaster | None:
    """The store master, read again only when its file changed (long-running jobs ask often)."""
    path = store_master_path(config)
    if path is None or not path.exists():
        return None
    stat = path.stat()
    key, stamp = str(path.resolve()), (stat.st_mtime_ns, stat.st_size)
    hit = _CACHE.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, read_store_master(path, config))
        _CACHE[key] = hit
    return hit[1]


def _webhook_format(url: str) -> str:
    return "dingtalk" if "dingtalk" in url else "wecom" if "qyapi.weixin" in url else "json"


def master_contacts(config: Config) -> dict[str, dict]:
    """store_id -> an ``alerts.store_contacts`` entry from the store master (``stores.contacts``):
    the manager's e-mail, else the store's webhook; stores with neither are left out."""
    if not config.get("stores.contacts", True):
        return {}
    master = cached_store_master(config)
    if master is None:
        return {}
    out: dict[str, dict] = {}
    for sid, email, hook in master.stores.select("store_id", "email", "webhook").iter_rows():
        if email and "@" in email:
            out[sid] = {"email": email.strip()}
        elif hook and hook.startswith(("http://", "https://")):
            out[sid] = {"webhook": {"url": hook.strip(), "format": _webhook_format(hook)}}
    return out


def platform_cap(config: Config) -> float | None:
    """``payment.cod_cap``: one cash-on-delivery limit for every store (a site setting, off by default)."""
    value = config.get("payment.cod_cap")
    return float(value) if value is not None else None


def has_limits(config: Config) -> bool:
    """Whether a scan with this config has credit limits to judge by (a store master or the cap)."""
    return store_master_path(config) is not None or platform_cap(config) is not None


__all__ = ["FIELDS", "STORES", "StoreMaster", "cached_store_master", "has_limits", "load_store_master",
           "master_contacts", "platform_cap", "read_store_master", "store_master_path"]
