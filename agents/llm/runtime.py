"""Calling the async model client from Baton's synchronous service code.

The service runs in worker threads (the chat uses asyncio.to_thread) and in the CLI, where
no event loop runs: one asyncio.Runner per use keeps one loop, and so one connection pool,
for every call of a brief.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from agents.llm.client import ModelClient
from agents.llm.structured import StructuredAsker
from db.settings import Settings

T = TypeVar("T")


class ModelRuntime:
    """A model client and its event loop, for synchronous callers; use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        self._runner = asyncio.Runner()
        self.client = ModelClient(settings)
        self.asker = StructuredAsker(self.client)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def close(self) -> None:
        try:
            self._runner.run(self.client.close())
        finally:
            self._runner.close()

    def __enter__(self) -> ModelRuntime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
