"""A real `baton run` server and a real Chromium for the browser end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents.service import Baton
from db.engine import make_engine
from tests.support.home import make_settings, subprocess_env

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60.0


def require_chromium() -> None:
    """Skip (or, in CI, fail) when Debian's Chromium or Playwright is not installed."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is missing (pip install -e '.[dev]')")
    if not missing:
        return
    reason = "browser tests need a real Chromium: " + "; ".join(missing)
    if os.environ.get("CI") or os.environ.get("BATON_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BatonServer:
    """`baton run` in its own process group, its output in a log file."""

    home: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment, e.g. OPENAI_BASE_URL and BATON_MODEL for a scripted model."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = subprocess_env(self.home, **self.env)
        baton = Path(sys.executable).with_name("baton")
        command = [str(baton)] if baton.exists() else [sys.executable, "-m", "app.cli"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "run", "--host", "127.0.0.1", "--port", str(self.port)],
                # Run outside the repository so that no `.env` there leaks into the server.
                cwd=self.home.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"baton run exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"baton run did not answer on {self.url} in time:\n{self.log()}")

    def stop(self) -> None:
        """Stop the server as a person would (SIGTERM); kill the group if it hangs."""
        process, self.process = self.process, None
        if process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def log(self, start: int = 0) -> str:
        try:
            return self.log_path.read_bytes()[start:].decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0


@contextmanager
def ledger(home: Path) -> Iterator[Baton]:
    """Read Baton's ledger beside the running server (no initialise, no crash recovery)."""
    settings = make_settings(home)
    engine = make_engine(settings.db_url)
    try:
        yield Baton(settings, engine)
    finally:
        engine.dispose()


def decide_payload(
    session_id: str,
    action_id: str,
    revision: int,
    verdict: str,
    *,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The JSON body the action card posts to Chainlit's `/project/action`."""
    return {
        "sessionId": session_id,
        "action": {
            "name": "baton_decide",
            "payload": {
                "action_id": action_id,
                "revision": revision,
                "verdict": verdict,
                "changes": changes or {},
                "reason": reason,
            },
        },
    }


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
