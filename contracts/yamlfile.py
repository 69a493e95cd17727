"""YAML as orderwatch reads it: safe types only, and a key given twice is an error.

Why: PyYAML keeps the last of two equal keys silently, so a rule with ``critical:`` twice, or
a config with two ``web:`` sections, runs with half of what its author wrote.  Every YAML file
orderwatch reads (config, rules) goes through :func:`load`, which names the file, the line and
the key instead.
"""

from __future__ import annotations

from typing import Any

import yaml

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice; ``line`` is 1-based."""

    def __init__(self, name: str, line: int, key: Any, first_line: int) -> None:
        self.name, self.line, self.key, self.first_line = name, line, key, first_line
        super().__init__(f"{name}: line {line}: duplicate key {key!r} (first at line {first_line})")


class _StrictLoader(_BASE):  # type: ignore[misc, valid-type]
    source_name = "<yaml>"

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(self.source_name, line, key, seen[key])
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load(text: str, name: str) -> Any:
    """Parse ``text`` (from the file ``name``); yaml.YAMLError on bad YAML or duplicate keys."""
    loader = type("Loader", (_StrictLoader,), {"source_name": name})
    return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
