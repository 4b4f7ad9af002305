"""Baton's configuration, read from the environment (and `.env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a `.env` file; the real environment wins over it."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    """Where Baton keeps its data and which model (if any) it talks to."""

    home: Path
    """The data directory: SQLite files, policy.toml, the auth secret."""
    db_url: str
    """SQLAlchemy URL of the ledger and workspace database."""
    model: str | None
    """Model name for the LLM planner; None means the offline planner."""
    openai_api_key: str | None
    openai_base_url: str | None

    @property
    def policy_path(self) -> Path:
        return self.home / "policy.toml"

    @property
    def chat_db_path(self) -> Path:
        """Chainlit's own threads/steps/elements live apart from the ledger."""
        return self.home / "chat.db"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(_read_dotenv(Path.cwd() / ".env"))
        env.update(os.environ if environ is None else environ)
        home = Path(env.get("BATON_HOME") or ".baton").expanduser().resolve()
        db_url = env.get("BATON_DB_URL") or f"sqlite:///{home / 'baton.db'}"
        return cls(
            home=home,
            db_url=db_url,
            model=env.get("BATON_MODEL") or None,
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
        )
