"""Chainlit's SQLAlchemy data layer made to work on SQLite (chat history, cards, feedback)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.element import Element

# Chainlit documents this schema for PostgreSQL only; SQLite stores UUIDs, JSON and
# arrays as TEXT. Every key of Chainlit's StepDict and ElementDict needs a column,
# because the stock layer inserts whichever keys are set.
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" TEXT NOT NULL,
    "createdAt" TEXT);
CREATE TABLE IF NOT EXISTS threads (
    "id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" TEXT, "userIdentifier" TEXT,
    "tags" TEXT, "metadata" TEXT,
    FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS steps (
    "id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL,
    "parentId" TEXT, "command" TEXT, "modes" TEXT, "streaming" BOOLEAN NOT NULL,
    "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" TEXT, "tags" TEXT, "input" TEXT,
    "output" TEXT, "createdAt" TEXT, "start" TEXT, "end" TEXT, "generation" TEXT,
    "showInput" TEXT, "language" TEXT, "indent" INT, "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN, "icon" TEXT, "feedback" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS elements (
    "id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT, "url" TEXT, "chainlitKey" TEXT,
    "name" TEXT NOT NULL, "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT,
    "language" TEXT, "forId" TEXT, "mime" TEXT, "props" TEXT, "autoPlay" BOOLEAN,
    "playerConfig" TEXT, "path" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL, "threadId" TEXT NOT NULL,
    "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS ix_steps_thread ON steps ("threadId");
CREATE INDEX IF NOT EXISTS ix_elements_thread ON elements ("threadId");
"""

PropsRefresher = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]
"""Given a stored card's props and the thread owner, return the props the ledger says now."""


def create_schema(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class SQLiteDataLayer(SQLAlchemyDataLayer):
    """JSON-encodes lists and dicts on write, decodes them on read, and stores card elements.

    Cards are custom elements with no file behind them, so they are stored without a
    storage provider; on read their props are refreshed from Baton's ledger, which is
    the source of truth for an action's state.
    """

    def __init__(self, path: Path, *, refresh_card: PropsRefresher | None = None) -> None:
        create_schema(path)
        super().__init__(conninfo=f"sqlite+aiosqlite:///{path}")
        self._refresh_card = refresh_card

    async def execute_sql(self, query: str, parameters: dict[str, Any]) -> Any:
        encoded = {
            k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in parameters.items()
        }
        return await super().execute_sql(query, encoded)

    async def create_element(self, element: Element) -> None:
        if element.type != "custom" or not element.for_id:
            return  # Baton sends no files; only its cards are worth keeping
        data = {k: v for k, v in element.to_dict().items() if v is not None}
        data.pop("chainlitKey", None)  # session files do not outlive the session
        columns = ", ".join(f'"{c}"' for c in data)
        values = ", ".join(f":{c}" for c in data)
        updates = ", ".join(f'"{c}" = :{c}' for c in data if c != "id")
        await self.execute_sql(
            f"INSERT INTO elements ({columns}) VALUES ({values}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates};",
            data,
        )

    async def get_all_user_threads(
        self, user_id: str | None = None, thread_id: str | None = None
    ) -> Any:
        threads = await super().get_all_user_threads(user_id=user_id, thread_id=thread_id)
        # Refresh cards only when one thread is opened; the thread list needs no props.
        refresh = self._refresh_card if thread_id else None
        for thread in threads or []:
            thread["tags"] = _decode(thread.get("tags"))
            thread["metadata"] = _decode(thread.get("metadata")) or {}
            for step in thread.get("steps", []):
                for key in ("metadata", "tags", "generation"):
                    step[key] = _decode(step.get(key))  # type: ignore[literal-required,unused-ignore]
            for element in thread.get("elements") or []:
                props = _decode(element.get("props")) or {}
                if refresh and isinstance(props, dict) and props.get("action_id"):
                    props = await refresh(props, str(thread.get("userIdentifier") or ""))
                element["props"] = props
        return threads
