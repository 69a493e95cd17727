"""Serving the app in production: gunicorn with several worker processes, threads in each.

Several processes, because a page is mostly Python (templates) and one process holds the GIL:
on 2 cores two workers nearly double what one serves.  Each worker builds its own app (and
database pool) after the fork.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from contracts.config import Config


class OrderwatchServer(BaseApplication):
    def __init__(self, config: Config, options: dict[str, Any]) -> None:
        self.config_obj = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:  # gunicorn's settings, not ours
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from web import create_app
        return create_app(self.config_obj)


def serve(config: Config, host: str, port: int, workers: int, threads: int) -> None:
    OrderwatchServer(config, {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
        "accesslog": None, "errorlog": "-", "loglevel": "warning", "timeout": 300,
        "proc_name": "orderwatch", "preload_app": False,
    }).run()
