"""Baton's configuration, read from the environment (and `.env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


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


DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
"""The model used when OPENAI_API_KEY is set and BATON_MODEL is not."""


@dataclass(frozen=True)
class Price:
    """What a model costs, in USD per million tokens."""

    prompt: float
    completion: float


def parse_prices(text: str) -> dict[str, Price]:
    """Parse "model=in/out,model2=in/out" (USD per million tokens); bad entries raise ValueError."""
    prices: dict[str, Price] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, sep, pair = entry.rpartition("=")
        first, slash, second = pair.partition("/")
        try:
            if not (sep and slash and name.strip()):
                raise ValueError
            prices[name.strip()] = Price(float(first), float(second))
        except ValueError:
            raise ValueError(
                f"BATON_LLM_PRICES entry '{entry}' is not model=input/output "
                "(USD per million tokens, e.g. gpt-4o-mini=0.15/0.60)."
            ) from None
    return prices


@dataclass(frozen=True)
class LLMConfig:
    """How Baton reaches a model, and how much one brief may spend on it."""

    timeout: float = 30.0
    """Seconds one request may take (BATON_LLM_TIMEOUT)."""
    deadline: float = 90.0
    """Seconds one model call may take with all its retries (BATON_LLM_DEADLINE)."""
    output: str = "auto"
    """Structured output mode: auto, json_schema, tools or json_object (BATON_LLM_OUTPUT)."""
    prices: dict[str, Price] = field(default_factory=dict)
    """Per-model prices (BATON_LLM_PRICES); a model without a price has an unknown cost."""
    max_steps: int = 12
    """Most steps a plan may have (BATON_MAX_STEPS)."""
    max_calls: int = 40
    """Most model calls one brief may make (BATON_MAX_MODEL_CALLS)."""
    token_budget: int = 120_000
    """Most tokens (prompt + completion) one brief may use (BATON_TOKEN_BUDGET)."""
    azure_endpoint: str | None = None
    """AZURE_OPENAI_ENDPOINT: use Azure OpenAI; BATON_MODEL is then the deployment name."""
    azure_api_version: str = "2024-10-21"
    """OPENAI_API_VERSION for Azure."""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> LLMConfig:
        def number(name: str, default: float, kind: type = float) -> float:
            raw = env.get(name)
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, not '{raw}'.") from None
            if value <= 0:
                raise ValueError(f"{name} must be positive, not '{raw}'.")
            return value

        output = (env.get("BATON_LLM_OUTPUT") or "auto").strip().lower()
        if output not in ("auto", "json_schema", "tools", "json_object"):
            raise ValueError(
                f"BATON_LLM_OUTPUT must be auto, json_schema, tools or json_object, not '{output}'."
            )
        return cls(
            timeout=number("BATON_LLM_TIMEOUT", cls.timeout),
            deadline=number("BATON_LLM_DEADLINE", cls.deadline),
            output=output,
            prices=parse_prices(env.get("BATON_LLM_PRICES", "")),
            max_steps=int(number("BATON_MAX_STEPS", cls.max_steps, int)),
            max_calls=int(number("BATON_MAX_MODEL_CALLS", cls.max_calls, int)),
            token_budget=int(number("BATON_TOKEN_BUDGET", cls.token_budget, int)),
            azure_endpoint=env.get("AZURE_OPENAI_ENDPOINT") or None,
            azure_api_version=env.get("OPENAI_API_VERSION") or cls.azure_api_version,
        )


@dataclass(frozen=True)
class Settings:
    """Where Baton keeps its data and which model (if any) it talks to."""

    home: Path
    """The data directory: SQLite files, policy.toml, the auth secret."""
    db_url: str
    """SQLAlchemy URL of the ledger and workspace database."""
    model: str | None
    """Model name for the LLM planner; None means the offline planner."""
    openai_api_key: str | None = field(repr=False)
    """Never in a repr, so no traceback or log line that prints settings shows it."""
    openai_base_url: str | None
    llm: LLMConfig = field(default_factory=LLMConfig)

    @property
    def llm_enabled(self) -> bool:
        """A model is configured and there is an endpoint to reach it: the LLM planner runs."""
        return bool(self.model) and bool(
            self.openai_api_key or self.openai_base_url or self.llm.azure_endpoint
        )

    @property
    def endpoint_label(self) -> str:
        """Where the model lives, for the UI: a host name, never a key."""
        if self.llm.azure_endpoint:
            return f"Azure OpenAI at {urlsplit(self.llm.azure_endpoint).hostname}"
        if self.openai_base_url:
            return str(urlsplit(self.openai_base_url).netloc or self.openai_base_url)
        return "OpenAI"

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
        key = env.get("OPENAI_API_KEY") or env.get("AZURE_OPENAI_API_KEY") or None
        base_url = env.get("OPENAI_BASE_URL") or None
        model = env.get("BATON_MODEL") or None
        if model is None and key and not base_url and not env.get("AZURE_OPENAI_ENDPOINT"):
            model = DEFAULT_OPENAI_MODEL
        return cls(
            home=home,
            db_url=db_url,
            model=model,
            openai_api_key=key,
            openai_base_url=base_url,
            llm=LLMConfig.from_env(env),
        )
