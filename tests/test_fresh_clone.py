"""The README's two commands, from a fresh clone with no ``../shared`` beside it.

The committed tree is cloned into a temporary folder (so nothing untracked can help), then, with
this interpreter standing in for the new venv (the install itself is pip's business, and slow):
the first command's steps — ``orderwatch demo``, ``users add admin --password-stdin``,
``orderwatch serve`` answering a logged-in queue page — and the second command, pytest, on the
tests that read real data (they must pass on the committed slice and skip what needs ../shared).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300


def _clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, timeout=120)
    assert not (dest.parent / "shared").exists()
    return dest


def _env(clone: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORDERWATCH_CONFIG", "ORDERWATCH_BROWSER_TESTS", "ORDERWATCH_SCREENSHOTS")}
    env["PYTHONPATH"] = str(clone)          # the clone's code, not this checkout's
    return env


def _run(clone: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=clone, env=_env(clone), input=stdin, text=True,
                          capture_output=True, timeout=TIMEOUT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login_and_open_queue(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    deadline = time.monotonic() + 60
    while True:
        try:
            page = opener.open(f"{base}/login", timeout=5).read().decode("utf-8")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"_csrf": token, "username": "admin", "password": "orderwatch-admin"}).encode()
    with opener.open(f"{base}/login", data=body, timeout=30) as resp:
        assert "/queue/" in resp.url, resp.url
        return resp.read().decode("utf-8")


def test_readme_commands_work_from_a_fresh_clone_without_shared(tmp_path):
    clone = _clone(tmp_path)
    probe = _run(clone, "-c", "import web, orderwatch; print(web.__file__)")
    assert probe.returncode == 0 and probe.stdout.strip().startswith(str(clone)), probe

    # command 1: demo scan, an admin, the UI
    demo = _run(clone, "-m", "orderwatch.cli", "demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (clone / "instance" / "orderwatch.db").exists()
    user = _run(clone, "-m", "orderwatch.cli", "users", "add", "admin", "--role", "admin", "--password-stdin",
                stdin="orderwatch-admin\n")
    assert user.returncode == 0, user.stderr
    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "orderwatch.cli", "serve", "--port", str(port)], cwd=clone,
                             env=_env(clone), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    try:
        queue = _login_and_open_queue(f"http://127.0.0.1:{port}")
        assert 'class="flags"' in queue and "data-flag-id" in queue
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)

    # command 2: the tests, on those that read real data (slice here, ../shared skipped)
    tests = _run(clone, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                 "tests/test_real_online_retail.py", "tests/test_ingest_online_retail.py",
                 "tests/test_browser_gate.py")
    out = tests.stdout + tests.stderr
    assert tests.returncode == 0, out[-3000:]
    assert re.search(r"\d+ passed", out) and not re.search(r"\d+ (failed|error)", out), out[-3000:]
    assert "needs ../shared/data/online_retail" in out, out[-3000:]
