"""The rules layer: YAML rule files → validated :class:`Rule` objects → durable-rules rulesets.

``rules.loader`` reads and validates the YAML (errors name file, rule and field);
``rules.condition`` parses level conditions; ``rules.engine`` compiles them onto durable-rules;
``rules.prefilter`` keeps only the rows that can reach a level; ``pack/`` is the default pack.
"""

from rules.loader import RuleProblem, RulesInvalid, load_rules
from rules.model import LEVEL_ORDER, Rule

__all__ = ["LEVEL_ORDER", "Rule", "RuleProblem", "RulesInvalid", "load_rules"]
