"""Read rule YAML files and validate them; every mistake is reported as file, rule and field.

Rule authors edit these files by hand, so the loader never lets a stack trace through: all
problems of all files are collected and raised together as :class:`RulesInvalid`.
"""

from __future__ import annotations

import re
import string
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts import yamlfile
from contracts.config import Config
from detectors import REGISTRY, SUBJECT_COLUMNS
from rules.condition import ConditionError, parse
from rules.condition import fields as condition_fields
from rules.inhibit import Inhibition, read_inhibitions
from rules.model import LEVEL_ORDER, Rule

RULE_KEYS = {"id", "title", "description", "detector", "params", "levels", "department",
             "notify_store", "enabled", "reason", "mode", "shadow_of"}
MODES = ("live", "shadow")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
CONTEXT_FIELDS = set(SUBJECT_COLUMNS) | {"sku", "line_no"}


@dataclass(frozen=True)
class RuleProblem:
    file: str
    rule: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.rule:
            where += f": rule {self.rule!r}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class RulesInvalid(Exception):
    """One or more rule files are invalid; ``problems`` lists each mistake."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _placeholders(template: str) -> set[str]:
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return names


class _RuleReader:
    """Validates one rule mapping, collecting problems instead of raising."""

    def __init__(self, file: str, config: Config, problems: list[RuleProblem]) -> None:
        self.file, self.config, self.problems = file, config, problems

    def problem(self, rule: str | None, field: str | None, message: str) -> None:
        self.problems.append(RuleProblem(self.file, rule, field, message))

    def bilingual(self, rid: str, key: str, value: Any, required: bool) -> dict[str, str]:
        if value is None:
            if required:
                self.problem(rid, key, "is required (a mapping with zh and en)")
            return {}
        if isinstance(value, str):
            return {"zh": value}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problem(rid, key, "must be a text or a mapping like {zh: ..., en: ...}")
            return {}
        if required and not {"zh", "en"} <= set(value):
            self.problem(rid, key, "needs both zh and en")
        return {str(k): v for k, v in value.items()}

    def params(self, rid: str, detector, value: Any) -> dict[str, Any] | None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.problem(rid, "params", "must be a mapping of parameter: value")
            return None
        ok = True
        for k, v in value.items():
            if k not in detector.params:
                known = ", ".join(sorted(detector.params)) or "none"
                self.problem(rid, f"params.{k}", f"unknown parameter of detector {detector.name!r} (known: {known})")
                ok = False
                continue
            default = detector.params[k]
            choices = (detector.choices or {}).get(k)
            if isinstance(default, list):
                ok = self.listed(rid, k, v, choices) and ok
            elif choices and v not in choices:
                self.problem(rid, f"params.{k}", f"must be one of {', '.join(map(str, choices))}, got {v!r}")
                ok = False
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    self.problem(rid, f"params.{k}", f"must be a number, got {v!r}")
                    ok = False
                elif v < 0:
                    self.problem(rid, f"params.{k}", f"must not be negative, got {v!r}")
                    ok = False
            elif isinstance(default, str) and not isinstance(v, str):
                self.problem(rid, f"params.{k}", f"must be a text, got {v!r}")
                ok = False
        if not ok:
            return None
        params = detector.with_defaults(value)
        for key, message in detector.check(params, self.config):
            self.problem(rid, f"params.{key}", message)
            ok = False
        return params if ok else None

    def listed(self, rid: str, key: str, value: Any, choices: tuple[Any, ...] | None) -> bool:
        """A list parameter: a list of texts, each one of ``choices`` when the detector has them."""
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.problem(rid, f"params.{key}", f"must be a list of texts like [a, b], got {value!r}")
            return False
        bad = [x for x in value if choices and x not in choices]
        if bad:
            known = ", ".join(map(str, choices or ()))
            self.problem(rid, f"params.{key}", f"unknown value(s) {', '.join(bad)} (known: {known})")
        return not bad

    def read(self, raw: Any, index: int) -> Rule | None:
        if not isinstance(raw, dict):
            self.problem(None, f"rules[{index}]", "each rule must be a mapping")
            return None
        rid = raw.get("id")
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            self.problem(str(rid) if rid else None, f"rules[{index}].id",
                         "is required: lower-case letters, digits and _ (2–63 chars), starting with a letter")
            return None
        before = len(self.problems)
        for k in sorted(set(raw) - RULE_KEYS):
            self.problem(rid, k, f"unknown key (allowed: {', '.join(sorted(RULE_KEYS))})")
        title = self.bilingual(rid, "title", raw.get("title"), required=True)
        det_name = raw.get("detector")
        detector = REGISTRY.get(det_name) if isinstance(det_name, str) else None
        if detector is None:
            self.problem(rid, "detector", f"unknown detector {det_name!r} (known: {', '.join(sorted(REGISTRY))})")
        dept = raw.get("department")
        if dept not in self.config.departments:
            self.problem(rid, "department",
                         f"unknown department {dept!r} (known: {', '.join(self.config.departments)})")
        for flag in ("notify_store", "enabled"):
            if flag in raw and not isinstance(raw[flag], bool):
                self.problem(rid, flag, f"must be true or false, got {raw[flag]!r}")
        mode = raw.get("mode", "live")
        if mode not in MODES:
            self.problem(rid, "mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        shadow_of = raw.get("shadow_of")
        if shadow_of is not None and (mode != "shadow" or not isinstance(shadow_of, str)):
            self.problem(rid, "shadow_of", "names the live rule a shadow rule would replace: "
                                           "only with mode: shadow, and a rule id")
        params = self.params(rid, detector, raw.get("params")) if detector else None
        features = set(detector.features(params)) if detector and params is not None else None
        levels, level_text = self.levels(rid, raw.get("levels"), features)
        reason = self.bilingual(rid, "reason", raw.get("reason"), required=False)
        # no reason in YAML: the detector's sentences (rules/reasons/) speak for the rule
        if features is not None:
            for lang, text in reason.items():
                try:
                    unknown = _placeholders(text) - features - CONTEXT_FIELDS
                except ValueError as exc:
                    self.problem(rid, f"reason.{lang}", f"bad template: {exc}")
                    continue
                if unknown:
                    self.problem(rid, f"reason.{lang}", f"unknown placeholder(s): {', '.join(sorted(unknown))}")
        if len(self.problems) > before or detector is None or params is None:
            return None
        return Rule(
            id=rid, title=title, detector=detector.name, params=params, levels=levels,
            level_text=level_text, department=dept, notify_store=bool(raw.get("notify_store", False)),
            enabled=bool(raw.get("enabled", True)), reason=reason, file=Path(self.file),
            mode=str(mode), shadow_of=shadow_of,
        )

    def levels(self, rid: str, value: Any, features: set[str] | None):
        if not isinstance(value, dict) or not value:
            self.problem(rid, "levels", f"is required: a mapping of level ({', '.join(LEVEL_ORDER)}) to condition")
            return {}, {}
        nodes, texts = {}, {}
        for level, cond in value.items():
            if level not in LEVEL_ORDER:
                self.problem(rid, f"levels.{level}", f"unknown level (use {', '.join(LEVEL_ORDER)})")
                continue
            if not isinstance(cond, str):
                self.problem(rid, f"levels.{level}", "must be a condition text such as 'ratio >= 5 and quantity >= 100'")
                continue
            try:
                node = parse(cond)
            except ConditionError as exc:
                self.problem(rid, f"levels.{level}", f"{exc} in {cond!r}")
                continue
            if features is not None:
                unknown = condition_fields(node) - features
                if unknown:
                    self.problem(rid, f"levels.{level}",
                                 f"unknown feature(s) {', '.join(sorted(unknown))} (this detector has: "
                                 f"{', '.join(sorted(features))})")
                    continue
            nodes[level], texts[level] = node, cond
        return nodes, texts


def read_rule_files(directory: Path, config: Config) -> tuple[list[Rule], list[RuleProblem]]:
    """Every rule of every ``*.yaml``/``*.yml`` in ``directory`` (sorted), with all problems found."""
    rules, _, problems = read_pack(directory, config)
    return rules, problems


def read_pack(directory: Path, config: Config) -> tuple[list[Rule], list[Inhibition], list[RuleProblem]]:
    """The rules and the inhibitions (``inhibit:``, see ``rules.inhibit``) of a rules directory,
    with every problem found in either."""
    problems: list[RuleProblem] = []
    pending: list[tuple[str, Any]] = []
    rules: list[Rule] = []
    directory = Path(directory)
    if not directory.is_dir():
        return [], [], [RuleProblem(str(directory), None, None, "rules directory not found")]
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        problems.append(RuleProblem(str(directory), None, None, "no rule files (*.yaml) found"))
    seen: dict[str, str] = {}
    declared: dict[str, str] = {}   # every rule id written, valid or not -> its mode
    for path in files:
        name = str(path)
        try:
            doc = yamlfile.load(path.read_text(encoding="utf-8"), name)
        except yamlfile.DuplicateKeyError as exc:
            problems.append(RuleProblem(name, None, None, f"line {exc.line}: duplicate key {exc.key!r} "
                                                          f"(first at line {exc.first_line})"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
            problems.append(RuleProblem(name, None, None, f"not valid YAML at {where}: {getattr(exc, 'problem', exc)}"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(RuleProblem(name, None, None, f"cannot read: {exc}"))
            continue
        items = doc.get("rules") if isinstance(doc, dict) else doc
        if isinstance(doc, dict) and "inhibit" in doc:
            pending.append((name, doc["inhibit"]))
            items = [] if items is None else items
        if not isinstance(items, list):
            problems.append(RuleProblem(name, None, "rules", "the file must hold a list under `rules:`"))
            continue
        reader = _RuleReader(name, config, problems)
        declared.update({str(raw["id"]): str(raw.get("mode", "live")) for raw in items
                         if isinstance(raw, dict) and isinstance(raw.get("id"), str)})
        for i, raw in enumerate(items):
            rule = reader.read(raw, i)
            if rule is None:
                continue
            if rule.id in seen:
                problems.append(RuleProblem(name, rule.id, "id", f"duplicate rule id (also in {seen[rule.id]})"))
                continue
            seen[rule.id] = name
            rules.append(rule)
    for r in rules:   # a rule with its own mistakes is reported once, not again here
        if r.shadow_of is not None and declared.get(r.shadow_of) != "live":
            problems.append(RuleProblem(str(r.file), r.id, "shadow_of",
                                        f"no live rule {r.shadow_of!r} (a shadow rule sits beside a live one)"))
    inhibitions: list[Inhibition] = []
    by_id = {r.id: r for r in rules}
    for name, raw in pending:
        found, said = read_inhibitions(raw, name, by_id)
        inhibitions += found
        problems += [RuleProblem(*p) for p in said]
    return rules, inhibitions, problems


def load_inhibitions(config: Config, directory: Path | None = None) -> list[Inhibition]:
    """The inhibitions of the configured rules directory; raises :class:`RulesInvalid` on any mistake."""
    _, inhibitions, problems = read_pack(directory or config.rules_dir, config)
    if problems:
        raise RulesInvalid(problems)
    return inhibitions


def load_rules(config: Config, directory: Path | None = None, include_disabled: bool = False,
               include_shadow: bool = False) -> list[Rule]:
    """The enabled live rules of the configured directory; raises :class:`RulesInvalid` on any
    mistake.  Shadow rules only when asked: whoever queues or notifies never sees them."""
    rules, problems = read_rule_files(directory or config.rules_dir, config)
    if problems:
        raise RulesInvalid(problems)
    return [r for r in rules if (include_disabled or r.enabled) and (include_shadow or not r.shadow)]


@dataclass
class RuleState:
    """The rules in force and what is wrong with the files on disk.

    ``rules`` is the last set that validated (all of it, disabled rules included); when the
    files on disk are broken, ``problems`` lists why and ``rules`` stays the previous good set,
    so flags are still explained.  ``validated_at`` is when that set was read.
    """

    rules: list[Rule]
    problems: list[RuleProblem]
    validated_at: float | None
    source: str              # "files" (the directory as it is), "memory" or "snapshot"


_CACHE: dict[str, tuple[tuple, RuleState]] = {}
_LAST_GOOD: dict[str, tuple[list[Rule], float]] = {}
_CACHE_LOCK = threading.Lock()
SNAPSHOT_DIR = "rules_last_good"


def _fingerprint(directory: Path) -> tuple:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def _snapshot(config: Config, directory: Path) -> None:
    """Keep a copy of a directory that validated, for processes started while it is broken.

    Each file is replaced atomically and stale ones removed after, so a process reading the
    copy while another writes it sees whole files."""
    import os
    import uuid

    target = config.instance_dir / SNAPSHOT_DIR
    try:
        target.mkdir(parents=True, exist_ok=True)
        names = set()
        for p in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            tmp = target / f".{p.name}.{uuid.uuid4().hex}.tmp"
            tmp.write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
            os.replace(tmp, target / p.name)
            names.add(p.name)
        for old in target.glob("*.y*ml"):
            if old.name not in names:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only instance folder: the in-memory copy still serves this process


def rules_state(config: Config) -> RuleState:
    """The rules in force for a long-running process (read again only when a file changed)."""
    import time

    directory = Path(config.rules_dir)
    key = str(directory.resolve())
    fp = _fingerprint(directory) if directory.is_dir() else ()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] == fp:
            return hit[1]
        rules, problems = read_rule_files(directory, config)
        if not problems:
            _LAST_GOOD[key] = (rules, time.time())
            _snapshot(config, directory)
            state = RuleState(rules, [], _LAST_GOOD[key][1], "files")
        elif key in _LAST_GOOD:
            state = RuleState(_LAST_GOOD[key][0], problems, _LAST_GOOD[key][1], "memory")
        else:
            snap = config.instance_dir / SNAPSHOT_DIR
            good, bad = read_rule_files(snap, config) if snap.is_dir() else ([], ["none"])
            when = max((p.stat().st_mtime for p in snap.glob("*.y*ml")), default=None) if not bad else None
            state = RuleState(good if not bad else [], problems, when, "snapshot")
        _CACHE[key] = (fp, state)
        return state


def load_rules_cached(config: Config, include_disabled: bool = False,
                      include_shadow: bool = False) -> list[Rule]:
    """The live rules in force (the last set that validated; see :func:`rules_state`); never raises.

    For long-running processes (the web app reads rule titles on every page).  Scans use
    :func:`load_rules`, which refuses a broken directory."""
    rules = rules_state(config).rules
    return [r for r in rules if (include_disabled or r.enabled) and (include_shadow or not r.shadow)]
