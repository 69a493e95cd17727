"""A rule's page: its thresholds, a dry run of an edit on stored history, save-and-reload or
discard, threshold suggestions from reviewers' verdicts, and a shadow rule beside its live one.

Only rule authors and admins.  An edit becomes a draft in the working copy (``rules.working``)
when it is dry-run, so ``orderwatch rules test`` sees it too; *save and reload* writes the draft
over the live file (refused when the live file changed since), *discard* forgets it.  Nothing
here writes a flag: the dry run reads history through the scan's own pipeline.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from detectors import REGISTRY
from orderwatch import dryrun_compare as cmp
from orderwatch.dryrun import DryRunError, dry_run
from orderwatch.shadow_compare import shadow_view, shadows_of
from orderwatch.suggestions import suggest_rules
from rules import working
from rules.edit import EditError, levels_of, set_levels
from rules.loader import rules_state
from rules.model import LEVEL_ORDER, REPORT, Rule
from web import access, charts, context, stats
from web.i18n import date_from_input
from web.review import lang
from web.rules_pages import everything
from web.security import require

bp = Blueprint("workbench", __name__, url_prefix="/rules/rule")
LIST = 20   # added / removed flags shown


def _rules() -> dict[str, Rule]:
    return {r.id: r for r in rules_state(context.config()).rules}


def _rule(rule_id: str) -> Rule:
    rule = _rules().get(rule_id)
    if rule is None:
        abort(404)
    return rule


def _form_levels(rule: Rule) -> dict[str, str]:
    """The level conditions as posted (an empty one removes that level; one not posted stays)."""
    return {lv: (request.form.get(f"level_{lv}") or "").strip() for lv in LEVEL_ORDER if f"level_{lv}" in request.form}


def _suggestion(rule: Rule) -> Any:
    wb = context.config().get("workbench", {}) or {}
    found = suggest_rules(context.engine(), [rule], min_resolved=int(wb.get("suggest_min_resolved", 30)),
                          target=float(wb.get("suggest_target_precision", 0.9)))
    return found[0] if found else None


def _shadow(rule: Rule, rules: dict[str, Rule]) -> list[Any]:
    from alerts.settings import load_settings

    try:
        settings = load_settings(context.config())
    except Exception:  # a bad alerts section is reported by the jobs and the admin banner
        return []
    pairs = [(rule, rules.get(rule.shadow_of or ""))] if rule.shadow else \
        [(s, rule) for s in shadows_of(list(rules.values()), rule.id)]
    return [shadow_view(context.engine(), settings, s, live) for s, live in pairs]


def _page(rule: Rule, *, levels: dict[str, str] | None = None, result: dict[str, Any] | None = None,
          problems: list[str] | None = None, error: str | None = None, status: int = 200,
          since: str = "", until: str = ""):  # type: ignore[no-untyped-def]
    rules = _rules()
    cfg = context.config()
    name = rule.file.name
    drafts = working.drafts(cfg)
    if levels is None:
        try:
            levels = levels_of(working.text_of(cfg, name), rule.id) if name in drafts else dict(rule.level_text)
        except (EditError, KeyError, OSError):
            levels = dict(rule.level_text)
    # every queued level (one can be added or removed), and ``report`` where the rule has one
    shown = [lv for lv in LEVEL_ORDER if lv != REPORT or REPORT in levels or REPORT in rule.levels]
    rule_stats = stats.rule_stats(context.engine(), everything()).get(rule.id, {})
    features = sorted(REGISTRY[rule.detector].features(rule.params))
    return render_template(
        "rule.html", rule=rule, levels=levels, shown_levels=shown, features=features, draft=name in drafts,
        result=result, problems=problems or [], error=error, suggestion=_suggestion(rule),
        shadows=_shadow(rule, rules), s=rule_stats, since=since, until=until,
        days=int(cfg.get("workbench.days", 30)),
        saved=request.args.get("saved"), discarded=request.args.get("discarded"), conflict=status == 409,
    ), status


@bp.get("/<rule_id>")
@require(access.can_see_rules)
def page(rule_id: str):  # type: ignore[no-untyped-def]
    return _page(_rule(rule_id))


def _result(run: Any, rules: dict[str, Rule]) -> dict[str, Any]:
    """What the template shows of a dry run."""
    d = cmp.diff(run)
    days = cmp.per_day(d)
    rows = [(r["day"], r["now"], r["with_change"]) for r in days.iter_rows(named=True) if r["day"] is not None]
    added, removed = cmp.changed_flags(d, "added"), cmp.changed_flags(d, "removed")
    return {
        "run": run, "levels": cmp.by_level(run, d).to_dicts(),
        "precision": cmp.precision(d).filter(pl.col("resolved") > 0).to_dicts(),
        "departments": cmp.by_department(d).to_dicts(), "stores": cmp.top_stores(d, 10).to_dicts(),
        "chart": charts.now_vs_change(rows, run.since, run.until, lang()),
        "added": added.head(LIST).to_dicts(), "n_added": added.height,
        "removed": removed.head(LIST).to_dicts(), "n_removed": removed.height, "rules": rules,
    }


@bp.post("/<rule_id>/dry-run")
@require(access.can_edit_rules)
def run(rule_id: str):  # type: ignore[no-untyped-def]
    cfg = context.config()
    rule = _rule(rule_id)
    levels = _form_levels(rule)
    since_text, until_text = request.form.get("since", ""), request.form.get("until", "")
    try:
        since, until = date_from_input(since_text), date_from_input(until_text)
    except ValueError:
        return _page(rule, levels=levels, error=_("The period's dates could not be read. Write dates as 2026-09-01."),
                     status=400, since=since_text, until=until_text)
    name = rule.file.name
    try:
        text = set_levels(working.text_of(cfg, name), rule.id, levels)
    except (EditError, KeyError) as exc:
        return _page(rule, levels=levels, problems=[str(exc)], status=422, since=since_text, until=until_text)
    candidate, problems = working.read_working(cfg, {name: text})
    if problems:
        return _page(rule, levels=levels, problems=[str(p) for p in problems], status=422, since=since_text,
                     until=until_text)
    working.write_draft(cfg, name, text)
    try:
        live, _note = working.rules_in_force(cfg)
        result = dry_run(cfg, live, candidate, db_url=current_app.config["DATABASE_URL"], since=since, until=until,
                         rule_id=rule.id)
    except (DryRunError, working.LiveRulesBroken) as exc:
        return _page(rule, levels=levels, error=str(exc), status=422, since=since_text, until=until_text)
    rules = {**{r.id: r for r in live}, **{r.id: r for r in candidate}}
    return _page(rule, levels=levels, result=_result(result, rules), since=since_text, until=until_text)


@bp.post("/<rule_id>/save")
@require(access.can_edit_rules)
def save(rule_id: str):  # type: ignore[no-untyped-def]
    cfg = context.config()
    rule = _rule(rule_id)
    name = rule.file.name
    if name not in working.drafts(cfg):
        return redirect(url_for("workbench.page", rule_id=rule_id))
    candidate, problems = working.read_working(cfg)
    if problems:
        return _page(rule, problems=[str(p) for p in problems], status=422)
    try:
        working.save(cfg, name)
    except working.DraftConflict:
        return _page(rule, error=_("Not saved: the rule file was changed by someone else since this draft was made. "
                                   "Discard the draft and edit the current file."), status=409)
    current_app.logger.info("rules: %s saved %s from the working copy", g.user.name, name)
    return redirect(url_for("workbench.page", rule_id=rule_id, saved=1))


@bp.post("/<rule_id>/discard")
@require(access.can_edit_rules)
def discard(rule_id: str):  # type: ignore[no-untyped-def]
    rule = _rule(rule_id)
    working.discard(context.config(), rule.file.name)
    return redirect(url_for("workbench.page", rule_id=rule_id, discarded=1))
