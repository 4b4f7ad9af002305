"""Shared fixtures: a real SQLite data directory per test, and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agents.service import Baton
from db.settings import LLMConfig, Settings
from tests.support.scripted_llm import ScriptedLLM

TODAY = date(2026, 11, 21)
TEST_CONTACTS = 3000
WINBACK = (
    "Win back customers who haven't bought in 90 days, $2,000, email and SMS, start December 1"
)


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # unix sockets


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any attempt to reach a host other than this machine fails the test.

    The attempt raises at once, and the test also fails afterwards: HTTP clients (openai
    among them) wrap connection errors, so a caller could otherwise swallow the attempt.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    attempts: list[str] = []

    def refuse(address: object) -> None:
        if not _is_loopback(address):
            attempts.append(repr(address))
            raise AssertionError(f"test tried to reach {address!r}: only 127.0.0.1 is allowed")

    def guarded(self: socket.socket, address: object) -> object:
        refuse(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_ex(self: socket.socket, address: object) -> int:
        refuse(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    yield attempts
    if attempts:
        pytest.fail(f"the test tried to reach non-loopback hosts: {', '.join(attempts)}")


MACHINE_ONLY_ENV = (
    "BATON_DB_URL",
    "BATON_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "DATABASE_URL",
)
"""Settings a developer's shell may carry that would point a test's subprocess elsewhere
(another database, a real model): tests set them explicitly or not at all."""


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a `baton` subprocess over `home`: offline unless `extra` says not."""
    env = {k: v for k, v in os.environ.items() if k not in MACHINE_ONLY_ENV}
    return {**env, "BATON_HOME": str(home), **extra}


def make_settings(home: Path, **llm: Any) -> Settings:
    """Offline settings; with `base_url=` (and LLMConfig fields) settings for a model."""
    base_url = llm.pop("base_url", None)
    return Settings(
        home=home,
        db_url=f"sqlite:///{home / 'baton.db'}",
        model=llm.pop("model", "scripted-model") if base_url else None,
        openai_api_key=llm.pop("api_key", None),
        openai_base_url=base_url,
        llm=LLMConfig(**llm),
    )


@dataclass(frozen=True)
class Template:
    home: Path
    admin_password: str


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One initialised data directory with a small demo workspace, built once per run."""
    home = tmp_path_factory.mktemp("template") / ".baton"
    baton, first_run = Baton.open(make_settings(home), today=TODAY, demo_contacts=TEST_CONTACTS)
    baton.engine.dispose()
    assert first_run.admin_password
    return Template(home=home, admin_password=first_run.admin_password)


def copy_home(template: Template, target: Path) -> Path:
    """Copy a data directory; the database through SQLite's backup API, never as a live file."""
    target.mkdir(parents=True)
    for item in template.home.iterdir():
        if item.name.startswith("baton.db"):
            continue
        if item.is_file():
            shutil.copy2(item, target / item.name)
    src = sqlite3.connect(template.home / "baton.db")
    dst = sqlite3.connect(target / "baton.db")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture
def home(template_home: Template, tmp_path: Path) -> Path:
    return copy_home(template_home, tmp_path / ".baton")


@pytest.fixture
def baton(home: Path) -> Iterator[Baton]:
    instance, first_run = Baton.open(make_settings(home), today=TODAY)
    assert first_run.admin_password is None and first_run.demo is None
    yield instance
    instance.engine.dispose()


@pytest.fixture(scope="session")
def _scripted_server() -> Iterator[ScriptedLLM]:
    """One scripted OpenAI-compatible server for the whole test session."""
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture
def scripted_llm(_scripted_server: ScriptedLLM) -> Iterator[ScriptedLLM]:
    """The session's scripted LLM server, emptied before the test and checked after it."""
    _scripted_server.reset()
    yield _scripted_server
    _scripted_server.check()
