"""Shared fixtures: a real SQLite data directory per test, and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.service import Baton
from tests.support.home import (
    TEST_CONTACTS,
    TODAY,
    Template,
    copy_home,
    make_settings,
)
from tests.support.scripted_llm import ScriptedLLM


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


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One initialised data directory with a small demo workspace, built once per run."""
    home = tmp_path_factory.mktemp("template") / ".baton"
    baton, first_run = Baton.open(make_settings(home), today=TODAY, demo_contacts=TEST_CONTACTS)
    baton.engine.dispose()
    assert first_run.admin_password
    return Template(home=home, admin_password=first_run.admin_password)


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
