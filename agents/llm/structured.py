"""Structured replies: a pydantic model out of any OpenAI-compatible endpoint, or a clear no.

Three ways to ask, tried in this order when the mode is "auto": JSON-schema structured
output, a forced tool call, then JSON mode with the schema in the prompt. An endpoint that
answers 400 to one way gets the next. A reply that fails validation gets one repair
attempt with the validation error; a second failure raises ModelError(kind="invalid").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from agents.llm.client import Meter, ModelClient, ModelError, Reply

M = TypeVar("M", bound=BaseModel)
Check = Callable[[Any], None]
"""Extra validation after pydantic (e.g. the plan names only known tools); raises ValueError."""

MODES = ("json_schema", "tools", "json_object")
MAX_TOOL_OUTPUT_CHARS = 2000


@dataclass(frozen=True)
class ToolSpec:
    """A read-only tool the model may call before it answers."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], Any]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON schema OpenAI's structured outputs accept, for a pydantic model."""
    from openai import pydantic_function_tool  # deferred, as in agents/llm/client.py

    return dict(pydantic_function_tool(model)["function"]["parameters"])


def _submit_name(model: type[BaseModel]) -> str:
    return f"submit_{model.__name__.lower()}"


def _error_summary(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "(root)"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return str(exc)


class StructuredAsker:
    """Asks one client for validated pydantic objects; remembers which mode the endpoint takes."""

    _learned: ClassVar[dict[tuple[str, str], str]] = {}
    """Endpoint and model -> the mode it accepted, so later briefs skip the refused ones."""

    def __init__(self, client: ModelClient) -> None:
        self.client = client
        configured = client.config.output
        self.fallback = configured == "auto"
        self._key = (client.endpoint, client.model)
        self.mode = self._learned.get(self._key, "json_schema") if self.fallback else configured

    async def ask(
        self,
        *,
        agent: str,
        system: str,
        user: str,
        schema: type[M],
        meter: Meter,
        check: Check | None = None,
        tools: tuple[ToolSpec, ...] = (),
        max_tool_rounds: int = 2,
    ) -> M:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        repaired = False
        rounds = 0
        by_name = {t.name: t for t in tools}
        while True:
            try:
                offered = [t.schema() for t in tools] if rounds < max_tool_rounds else []
                reply = await self._request(agent, messages, schema, meter, offered)
            except ModelError as exc:
                if self.fallback and exc.status == 400 and self.mode != MODES[-1]:
                    self.mode = MODES[MODES.index(self.mode) + 1]
                    self._learned[self._key] = self.mode
                    continue
                raise
            asked = [c for c in reply.tool_calls if c.name in by_name]
            if asked and rounds < max_tool_rounds:
                rounds += 1
                messages.append(
                    {
                        "role": "assistant",
                        "content": reply.content,
                        "tool_calls": [
                            {
                                "id": c.id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            }
                            for c in asked
                        ],
                    }
                )
                for call in asked:
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.id,
                            "content": _run_tool(by_name[call.name], call.arguments),
                        }
                    )
                continue
            raw = self._raw_answer(reply, schema)
            try:
                value = schema.model_validate_json(raw or "")
                if check is not None:
                    check(value)
                return value
            except (ValidationError, ValueError) as exc:
                summary = _error_summary(exc)
                meter.invalid(summary)
                if repaired:
                    raise ModelError(
                        f"The model's reply did not fit the expected shape twice ({summary}).",
                        kind="invalid",
                    ) from exc
                repaired = True
                messages.append({"role": "assistant", "content": raw or ""})
                messages.append(
                    {
                        "role": "user",
                        "content": f"That reply is not valid: {summary}. "
                        "Reply again with the corrected JSON object only.",
                    }
                )

    async def _request(
        self,
        agent: str,
        messages: list[dict[str, Any]],
        schema: type[BaseModel],
        meter: Meter,
        offered: list[dict[str, Any]],
    ) -> Reply:
        if self.mode == "tools":
            from openai import pydantic_function_tool

            submit = pydantic_function_tool(schema, name=_submit_name(schema))
            choice: Any = (
                "required"
                if offered
                else {"type": "function", "function": {"name": _submit_name(schema)}}
            )
            return await self.client.complete(
                agent=agent,
                messages=messages,
                meter=meter,
                tools=[*offered, dict(submit)],
                tool_choice=choice,
            )
        if self.mode == "json_object":
            system = dict(messages[0])
            system["content"] = (
                f"{system['content']}\n\nReply with one JSON object that matches this JSON "
                f"schema:\n{json.dumps(strict_schema(schema), separators=(',', ':'))}"
            )
            return await self.client.complete(
                agent=agent,
                messages=[system, *messages[1:]],
                meter=meter,
                tools=offered or None,
                response_format={"type": "json_object"},
            )
        return await self.client.complete(
            agent=agent,
            messages=messages,
            meter=meter,
            tools=offered or None,
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__,
                    "schema": strict_schema(schema),
                    "strict": True,
                },
            },
        )

    def _raw_answer(self, reply: Reply, schema: type[BaseModel]) -> str | None:
        if self.mode == "tools":
            for call in reply.tool_calls:
                if call.name == _submit_name(schema):
                    return call.arguments
        return reply.content


def _run_tool(tool: ToolSpec, arguments: str) -> str:
    """Run a tool the model asked for; errors go back to the model as text, not up the stack."""
    try:
        args = json.loads(arguments or "{}")
        if not isinstance(args, dict):
            raise ValueError("arguments must be a JSON object")
        output = tool.run(args)
    except (ValueError, ValidationError) as exc:
        return json.dumps({"error": _error_summary(exc)})
    text = json.dumps(output, default=str, separators=(",", ":"))
    return text[:MAX_TOOL_OUTPUT_CHARS]
