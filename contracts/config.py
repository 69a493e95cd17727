"""Load ``config.yaml``: the shipped file gives every default, a site file overrides keys.

Why a thin dict wrapper rather than a schema library: the file is the documentation, and the
few typed accessors below are what the code reads.  Errors name the file and the key.
"""

from __future__ import annotations

import copy
import fnmatch
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from contracts import yamlfile

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = PROJECT_ROOT / "config.yaml"


class ConfigError(Exception):
    """A configuration file is missing, unreadable or has a bad value."""


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yamlfile.load(path.read_text(encoding="utf-8"), str(path)) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yamlfile.DuplicateKeyError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


@dataclass
class Source:
    """A named input source: how its file names look and how its headers map.

    Everything here is optional: a file matching no source is read by recognition alone.
    ``columns`` (canonical -> header) overrides recognition; ``date_format`` fixes how its
    dates are read (``day_first``, ``month_first`` or a strftime format, for every date column
    or per canonical field); ``states`` maps its own status words to canonical states.
    """

    name: str
    match: str = "*"
    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    non_goods_skus: list[str] = field(default_factory=list)
    date_format: str | dict[str, str] | None = None
    states: dict[str, str] = field(default_factory=dict)

    def date_format_for(self, field_name: str) -> str | None:
        """The configured date format of one canonical field (None: infer it)."""
        if isinstance(self.date_format, dict):
            return self.date_format.get(field_name) or self.date_format.get("*")
        return self.date_format


@dataclass
class Config:
    """The merged configuration with paths resolved."""

    raw: dict[str, Any]
    base_dir: Path

    # -- paths -------------------------------------------------------------------------
    def _path(self, value: str) -> Path:
        value = value.replace("{instance_dir}", str(self.instance_dir))
        p = Path(value)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def instance_dir(self) -> Path:
        p = Path(str(self.raw.get("instance_dir", "instance")))
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_url(self) -> str:
        url = str(self.raw["database"]["url"])
        if "{instance_dir}" in url:
            url = url.replace("{instance_dir}", str(self.instance_dir))
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///"):]
            if rel and rel != ":memory:" and not Path(rel).is_absolute():
                url = "sqlite:///" + str(self.base_dir / rel)
        return url

    @property
    def history_dir(self) -> Path:
        return self._path(str(self.raw["history"]["dir"] or "{instance_dir}/history"))

    @property
    def history_days(self) -> int:
        return int(self.raw["history"]["days"])

    @property
    def rules_dir(self) -> Path:
        value = self.raw.get("rules_dir")
        return self._path(str(value)) if value else PROJECT_ROOT / "rules" / "pack"

    @property
    def timezone(self) -> str:
        return str(self.raw.get("timezone", "Asia/Shanghai"))

    # -- business settings ---------------------------------------------------------------
    @property
    def sla(self):  # noqa: ANN201 - contracts.sla.SlaPolicy (imported late: it imports this module)
        """The order-handling policy: each stage's time limit and its overrides (``sla``)."""
        from contracts.sla import sla_policy

        return sla_policy(self)

    @property
    def cod_methods(self) -> list[str]:
        return [str(m).lower() for m in self.raw["payment"]["cod_methods"]]

    @property
    def cancel_pattern(self) -> str | None:
        return self.raw.get("ingest", {}).get("cancel_pattern")

    @property
    def backfill_days(self) -> float:
        """A file whose newest event is older than this is a backfill (judged as of that event)."""
        return float(self.raw.get("ingest", {}).get("backfill_days", 2))

    @property
    def strict_fields(self) -> list[str]:
        return list(self.raw.get("ingest", {}).get("strict_fields", []))

    @property
    def departments(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self.raw["departments"].items()}

    def department_name(self, key: str, lang: str = "zh") -> str:
        return str(self.departments.get(key, {}).get(lang) or key)

    @property
    def sources(self) -> list[Source]:
        return [_source(i, s) for i, s in enumerate(self.raw.get("sources") or [])]

    def source_for(self, path: str | Path, name: str | None = None) -> Source:
        """The configured source a file belongs to (by name, else by glob), else ``default``."""
        fname = Path(path).name
        for s in self.sources:
            if (name and s.name == name) or (not name and fnmatch.fnmatch(fname, s.match)):
                return s
        if name:
            raise ConfigError(f"sources: no source named {name!r}")
        return Source(name="default")

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def _source(i: int, s: Any) -> Source:
    """One ``sources[]`` entry, checked: a bad value names the source and the key."""
    if not isinstance(s, dict) or "name" not in s:
        raise ConfigError(f"sources[{i}]: each source needs a name")
    name = str(s["name"])
    for key in ("columns", "defaults", "states"):
        if s.get(key) is not None and not isinstance(s[key], dict):
            raise ConfigError(f"sources[{i}] ({name}): {key} must be a mapping")
    fmt = s.get("date_format")
    if fmt is not None and not isinstance(fmt, (str, dict)):
        raise ConfigError(f"sources[{i}] ({name}): date_format must be day_first, month_first, "
                          "a strftime format, or a mapping field -> one of those")
    states = {str(k): str(v) for k, v in (s.get("states") or {}).items()}
    from contracts.schema import STATES  # local: schema imports nothing of config
    bad = sorted({v for v in states.values() if v not in STATES})
    if bad:
        raise ConfigError(f"sources[{i}] ({name}): states: unknown state(s) {', '.join(bad)}; "
                          f"known: {', '.join(STATES)}")
    return Source(
        name=name,
        match=str(s.get("match", "*")),
        columns={str(k): str(v) for k, v in (s.get("columns") or {}).items()},
        defaults=dict(s.get("defaults") or {}),
        non_goods_skus=[str(x) for x in s.get("non_goods_skus") or []],
        date_format=({str(k): str(v) for k, v in fmt.items()} if isinstance(fmt, dict) else fmt),
        states=states,
    )


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Shipped ``config.yaml`` merged with the site file (argument, $ORDERWATCH_CONFIG) and overrides."""
    raw = _read_yaml(SHIPPED_CONFIG)
    base_dir = Path.cwd()
    site = path or os.environ.get("ORDERWATCH_CONFIG")
    if site:
        site_path = Path(site).resolve()
        raw = _merge(raw, _read_yaml(site_path))
        base_dir = site_path.parent
    if overrides:
        raw = _merge(raw, overrides)
    return Config(raw=raw, base_dir=base_dir)


def now_local(config: Config) -> datetime:
    """Now as a naive wall-clock time in the configured timezone (how all times are kept)."""
    return datetime.now(ZoneInfo(config.timezone)).replace(tzinfo=None, microsecond=0)


def history_dir_for(url: str, config: Config) -> Path:
    """History lives beside the database: ``<file>.history`` for SQLite, else per database."""
    explicit = config.get("history.dir")
    if explicit:
        return config.history_dir
    m = re.match(r"^sqlite(?:\+\w+)?:///(.+)$", url)
    if m and m.group(1) != ":memory:":
        return Path(m.group(1)).with_suffix(".history")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", url.split("@")[-1])
    return config.instance_dir / "history" / safe
