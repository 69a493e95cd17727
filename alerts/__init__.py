"""Alerts: route flags to receivers (Alertmanager is the model), silence them, send them.

* :mod:`alerts.labels`    – the labels of a flag (what routes and silences match on)
* :mod:`alerts.routing`   – the routing tree of ``alerts.route``
* :mod:`alerts.settings`  – the validated ``alerts:`` config section
* :mod:`alerts.silences`  – time-boxed matchers that keep flags from being sent
* :mod:`alerts.receivers` – senders: e-mail (SMTP) and webhooks (json, DingTalk, WeCom)
* :mod:`alerts.notify`    – plan notifications from flags, enqueue, deliver with retries
"""

from alerts.labels import LABEL_NAMES, labels_of
from alerts.settings import AlertsConfigError

__all__ = ["LABEL_NAMES", "AlertsConfigError", "labels_of"]
