"""The last-resort reasons: the rule's title said about the order or the store, for a flag
whose figures no template of its detector can carry (``rules.reasons.choose``)."""

from __future__ import annotations

from i18n import N_

TEMPLATES = {
    "order": N_("Order {order_id} of store {store_id}: {title:title}."),
    "order_only": N_("Order {order_id}: {title:title}."),
    "store": N_("Store {store_id}: {title:title}."),
    "any": N_("{title:title}."),
}
