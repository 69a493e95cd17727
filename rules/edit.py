"""Change one rule's level conditions in its YAML text and keep everything else as written.

Why edit text rather than dump YAML: rule files are written by people — comments, key order,
quoting and blank lines carry meaning for the next reader.  The file is composed (not loaded)
to find where each level's condition sits, and only those spans are replaced; a new level is
added after the last one with the same indentation, a removed one takes its line with it.
"""

from __future__ import annotations

import json

import yaml

from rules.model import LEVEL_ORDER


class EditError(ValueError):
    """The rule or its ``levels`` mapping can't be found in the text (the message says which)."""


def _key(node: yaml.Node, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == name:
                return k, v
    return None


def _rule_node(text: str, rule_id: str) -> yaml.MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"not valid YAML: {exc}") from None
    found = _key(root, "rules") if root is not None else None
    items = found[1] if found else root
    if not isinstance(items, yaml.SequenceNode):
        raise EditError("the file holds no list under `rules:`")
    for item in items.value:
        ident = _key(item, "id")
        if ident and isinstance(ident[1], yaml.ScalarNode) and ident[1].value == rule_id:
            return item
    raise EditError(f"no rule {rule_id!r} in the file")


def quote(condition: str) -> str:
    """A condition as a YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(condition, ensure_ascii=False)


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """From the start of ``start``'s line to past the newline ending ``end``'s line."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return first, len(text) if last < 0 else last + 1


def levels_of(text: str, rule_id: str) -> dict[str, str]:
    """The rule's level conditions as they are in the text."""
    found = _key(_rule_node(text, rule_id), "levels")
    if not found or not isinstance(found[1], yaml.MappingNode):
        return {}
    return {k.value: v.value for k, v in found[1].value if isinstance(v, yaml.ScalarNode)}


def set_levels(text: str, rule_id: str, levels: dict[str, str | None]) -> str:
    """``text`` with ``rule_id``'s level conditions set to ``levels`` (level -> condition; an
    empty or None condition removes the level; levels not named stay as they are)."""
    found = _key(_rule_node(text, rule_id), "levels")
    if not found or not isinstance(found[1], yaml.MappingNode):
        raise EditError(f"rule {rule_id!r} has no `levels:` mapping")
    node: yaml.MappingNode = found[1]
    entries = {k.value: (k, v) for k, v in node.value}
    edits: list[tuple[int, int, str]] = []
    inserts: list[tuple[str, str]] = []
    for level, cond in levels.items():
        cond = (cond or "").strip()
        if level in entries:
            k, v = entries[level]
            if not cond:
                if node.flow_style:
                    start, end = k.start_mark.index, v.end_mark.index
                    rest = text[end:node.end_mark.index]
                    if rest.lstrip().startswith(","):          # not the last: take the comma after it
                        end += len(rest) - len(rest.lstrip(", "))
                    else:                                      # the last: take the comma before it
                        start = len(text[:start].rstrip().rstrip(","))
                    edits.append((start, end, ""))
                else:
                    edits.append((*_line_span(text, k.start_mark.index, v.end_mark.index), ""))
            elif not (isinstance(v, yaml.ScalarNode) and v.value == cond):
                edits.append((v.start_mark.index, v.end_mark.index, quote(cond)))
        elif cond:
            inserts.append((level, cond))
    if inserts:
        inserts.sort(key=lambda kv: LEVEL_ORDER.get(kv[0], 9))
        if node.flow_style or not node.value:
            close = text.rindex("}", node.start_mark.index, node.end_mark.index)
            body = text[node.start_mark.index + 1:close].strip()
            extra = ", ".join(f"{lvl}: {quote(c)}" for lvl, c in inserts)
            edits.append((close, close, (", " if body else "") + extra))
        else:
            first_key = node.value[0][0]
            indent = " " * first_key.start_mark.column
            _, after = _line_span(text, node.value[-1][0].start_mark.index, node.value[-1][1].end_mark.index)
            lines = "".join(f"{indent}{lvl}: {quote(c)}\n" for lvl, c in inserts)
            edits.append((after, after, lines if text[after - 1:after] == "\n" else "\n" + lines))
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


__all__ = ["EditError", "levels_of", "quote", "set_levels"]
