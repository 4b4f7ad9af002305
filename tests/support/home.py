"""A Baton data directory for tests: the pinned day, the demo brief, settings, copies."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from db.settings import LLMConfig, Settings

TODAY = date(2026, 11, 21)
TEST_CONTACTS = 3000
WINBACK = (
    "Win back customers who haven't bought in 90 days, $2,000, email and SMS, start December 1"
)


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
