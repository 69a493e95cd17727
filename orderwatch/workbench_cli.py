"""``orderwatch rules test`` and ``orderwatch rules suggest``: the rule author's workbench.

Wired into ``orderwatch/cli.py`` by :func:`add_rules_commands`.  Exit status of ``rules test``:
0 the change is valid (and its effect was printed), 1 the rules tested have mistakes (printed
as file, rule, field), 2 the dry run could not run (no history, a bad date, an unknown rule).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from rich.console import Console

from contracts.config import Config, ConfigError, load_config
from rules.loader import RuleProblem, read_rule_files
from rules.model import Rule

err = Console(stderr=True, soft_wrap=True)


def _out() -> Console:
    """Standard output; wide tables when it is a pipe or a file (not wrapped at 80 columns)."""
    probe = Console()
    return Console(soft_wrap=True, width=None if probe.is_terminal else 200)


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as '2026-09-01', got {text!r}") from None


def live_rules(config: Config) -> list[Rule]:
    """The rules in force (the last set that validated while the live directory is broken)."""
    from rules.working import LiveRulesBroken, rules_in_force

    try:
        rules, note = rules_in_force(config)
    except LiveRulesBroken as exc:
        raise ConfigError(str(exc)) from None
    if note:
        err.print(f"note: {note}")
    return rules


def _candidate(config: Config, directory: str | None) -> tuple[list[Rule], list[RuleProblem], str]:
    from rules.working import drafts, read_working

    if directory:
        rules, problems = read_rule_files(Path(directory), config)
        return rules, problems, str(directory)
    rules, problems = read_working(config)
    names = ", ".join(drafts(config)) or "no drafts"
    return rules, problems, f"{config.rules_dir} with the working copy's edits ({names})"


def cmd_rules_test(args: argparse.Namespace) -> int:
    from orderwatch.dryrun import DryRunError, dry_run
    from orderwatch.dryrun_report import print_dry_run, write_changes

    config = load_config(args.config)
    candidate, problems, what = _candidate(config, args.dir)
    if problems:
        for p in problems:
            print(str(p))
        print(f"the change is not valid: {len(problems)} problem(s) in {what}", file=sys.stderr)
        return 1
    live = live_rules(config)
    out = _out()
    out.print(f"testing {what} against the live rules ({config.rules_dir})", highlight=False, markup=False)
    try:
        run = dry_run(config, live, candidate, db_url=args.db, since=args.since, until=args.until,
                      rule_id=args.rule, exact=args.exact)
    except DryRunError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    wb = config.get("workbench", {}) or {}
    d = print_dry_run(run, config.departments, out, top=int(wb.get("top_stores", 10)),
                      list_added=int(wb.get("list_added", 20)))
    if args.out:
        n = write_changes(d, args.out)
        err.print(f"wrote {n:,} added, removed or moved flags to {args.out}")
    out.print("the change is valid 改动有效 (exit 0); nothing was written to the database", soft_wrap=True)
    return 0


def cmd_rules_suggest(args: argparse.Namespace) -> int:
    from orderwatch.suggestions import print_suggestions, suggest_all, write_suggested

    config = load_config(args.config)
    wb = config.get("workbench", {}) or {}
    rules = [r for r in live_rules(config) if args.rule is None or r.id == args.rule]
    if args.rule and not rules:
        err.print(f"[red]error:[/red] no rule {args.rule!r} in {config.rules_dir}")
        return 2
    found = suggest_all(config, rules, db_url=args.db,
                        min_resolved=int(args.min_resolved or wb.get("suggest_min_resolved", 30)),
                        target=float(args.target or wb.get("suggest_target_precision", 0.9)))
    print_suggestions(found, _out())
    if args.out_dir:
        written = write_suggested(config, found, Path(args.out_dir))
        err.print(f"wrote the rules with the suggested thresholds to {args.out_dir} ({', '.join(written) or 'no change'});"
                  f" see what they would do: orderwatch rules test {args.out_dir}")
    return 0


def add_rules_commands(rsub: argparse._SubParsersAction) -> None:
    """``rules test`` and ``rules suggest`` beside ``rules check``."""
    rt = rsub.add_parser("test", help="dry run: what changed rules would have flagged on stored history")
    rt.add_argument("dir", nargs="?", help="rules directory to test (default: the live directory with the "
                                           "working copy's edits)")
    rt.add_argument("--rule", help="only this rule (id)")
    rt.add_argument("--since", type=_day, help="first day (default: workbench.days before --until)")
    rt.add_argument("--until", type=_day, help="last day (default: the newest day in the history)")
    rt.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    rt.add_argument("--out", help="write the added and removed flags to FILE.csv or FILE.jsonl")
    rt.add_argument("--exact", action="store_true", help="replay each stored scan of the period (exact for a history "
                                                         "of many small scans; a pass per scan) instead of one pass")
    rt.set_defaults(func=cmd_rules_test)

    rs = rsub.add_parser("suggest", help="level thresholds fitted to reviewers' verdicts (never applied by themselves)")
    rs.add_argument("--rule", help="only this rule (id)")
    rs.add_argument("--db", help="SQLAlchemy URL (default: config database.url)")
    rs.add_argument("--min-resolved", type=int, help="resolved flags a rule needs (default: "
                                                     "workbench.suggest_min_resolved, 30)")
    rs.add_argument("--target", type=float, help="precision to keep (default: workbench.suggest_target_precision, 0.9)")
    rs.add_argument("--out-dir", help="write a copy of the rules with the suggestions into this directory "
                                      "(then: orderwatch rules test DIR)")
    rs.set_defaults(func=cmd_rules_suggest)


__all__ = ["add_rules_commands", "live_rules"]
