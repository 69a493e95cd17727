"""Rule pages for rule authors: every rule with its levels, hits and false-positive rate, its
YAML, and validate-and-reload.

Reload is file-based: scans read the rules directory when they start, so a rule file that
passes validation is written in place (atomically) and is in force for the next scan; a file
that fails is never written, so the running rules stay in force.  A file broken on disk (edited
by hand) is reported in a banner here while the last rule set that validated keeps explaining
flags; scans refuse to run until it is fixed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, abort, g, render_template, request

from rules.loader import read_rule_files, rules_state
from web import access, context, stats
from web.security import require

bp = Blueprint("rules", __name__, url_prefix="/rules")


def _files() -> dict[str, Path]:
    d = context.config().rules_dir
    return {p.name: p for p in sorted([*d.glob("*.yaml"), *d.glob("*.yml")])}


@bp.get("/")
@require(access.can_see_rules)
def index():  # type: ignore[no-untyped-def]
    state = rules_state(context.config())  # broken files: the last good rules stay in force
    return render_template("rules.html", rules=state.rules, problems=state.problems, state=state,
                           stats=stats.rule_stats(context.engine(), everything()), files=_files())


def everything():  # type: ignore[no-untyped-def]
    """Rule statistics are platform-wide whoever looks at them."""
    from store.users import Principal
    return Principal(id=0, name=g.user.name, role="admin")


def validate_candidate(name: str, text: str) -> list[str]:
    """Problems of the rules directory if ``name`` had ``text`` (other files included)."""
    src = context.config().rules_dir
    with tempfile.TemporaryDirectory() as tmp:
        for p in _files().values():
            shutil.copy(p, Path(tmp) / p.name)
        (Path(tmp) / name).write_text(text, encoding="utf-8")
        _, problems = read_rule_files(Path(tmp), context.config())
    return [str(p).replace(tmp, str(src)) for p in problems]


@bp.route("/file/<name>", methods=["GET", "POST"])
@require(access.can_see_rules)
def edit(name: str):  # type: ignore[no-untyped-def]
    files = _files()
    if name not in files:
        abort(404)
    text, problems, saved = files[name].read_text(encoding="utf-8"), [], False
    if request.method == "POST":
        if not access.can_edit_rules(g.user):
            abort(403)
        text = (request.form.get("text") or "").replace("\r\n", "\n")
        problems = validate_candidate(name, text)
        if not problems:
            tmp = files[name].with_name(f".{name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, files[name])
            saved = True
    return render_template("rule_file.html", name=name, text=text, problems=problems, saved=saved,
                           status=(422 if problems else 200)), (422 if problems else 200)
