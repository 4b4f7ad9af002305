"""A scripted OpenAI-compatible HTTP server: the one LLM test double shared by all tests.

Each request to ``/v1/chat/completions`` consumes the next step of a script; a request
nobody scripted, or a step nobody used, fails the test (see ``ScriptedLLM.check``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, TypeAlias

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agents.llm.tokens import estimate_request_tokens, estimate_tokens

AGENT_HEADER = "x-baton-agent"
"""The header Baton's LLM client uses to name the agent making a request."""

CREATED = 1_700_000_000
"""A fixed ``created`` timestamp, so responses carry no hidden clock."""

STREAM_PIECES = 4
"""How many content chunks a ``Text`` or ``JSONReply`` is split into when streamed."""


@dataclass(frozen=True)
class Usage:
    """Token counts to report instead of the estimate from ``agents.llm.tokens``."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Text:
    """A plain assistant message; streamed in pieces if the request asks for a stream."""

    content: str
    usage: Usage | None = None
    """Reported usage; estimated from the request and the content when None."""
    finish_reason: str = "stop"
    """E.g. "length" to make ``chat.completions.parse`` raise ``LengthFinishReasonError``."""


@dataclass(frozen=True)
class JSONReply:
    """An assistant message whose content is ``json.dumps(obj)``."""

    obj: Any
    usage: Usage | None = None


@dataclass(frozen=True)
class ToolCall:
    """An assistant message with one function call (finish_reason "tool_calls")."""

    name: str
    arguments: dict[str, Any] | str
    """A dict is sent as JSON; a string is sent verbatim (to test malformed arguments)."""
    call_id: str = "call_1"


@dataclass(frozen=True)
class ToolCalls:
    """An assistant message with several function calls.

    Calls left at the default ``call_id`` are numbered ``call_1``, ``call_2``, ... in order.
    """

    calls: list[ToolCall]
    usage: Usage | None = None


@dataclass(frozen=True)
class Stream:
    """A server-sent-events stream of the given content chunks; the request must ask to stream."""

    chunks: list[str]
    truncate_after: int | None = None
    """Send this many content chunks, then drop the connection: no finish_reason, no [DONE]."""
    usage: Usage | None = None


@dataclass(frozen=True)
class ErrorReply:
    """An OpenAI-style error body ``{"error": {...}}`` with the given HTTP status."""

    status: int
    message: str = "scripted error"
    type: str | None = None
    """The error type; None picks what OpenAI sends for the status."""
    code: str | None = None
    """E.g. "insufficient_quota" (a 429 that must not be retried)."""
    headers: dict[str, str] = field(default_factory=dict)
    """E.g. ``{"Retry-After": "1"}``."""


@dataclass(frozen=True)
class Delay:
    """Wait (without blocking the server) before answering with ``then``: for client timeouts."""

    seconds: float
    then: Reply


@dataclass(frozen=True)
class Malformed:
    """A body that is not valid JSON, sent as ``application/json``."""

    raw: str = "{not json"
    status: int = 200


@dataclass(frozen=True)
class FunctionReply:
    """A reply computed from the request body, e.g. to echo or answer from the prompt."""

    fn: ReplyFunction


Reply: TypeAlias = (
    Text
    | JSONReply
    | ToolCall
    | ToolCalls
    | Stream
    | ErrorReply
    | Delay
    | Malformed
    | FunctionReply
)
"""One scripted answer; each request consumes one."""

ReplyFunction: TypeAlias = Callable[[dict[str, Any]], Reply]
"""Computes a reply from the JSON body of a chat-completions request."""


def burst(n: int, status: int = 500) -> list[Reply]:
    """``n`` identical error replies, e.g. to exhaust a retry policy."""
    return [ErrorReply(status) for _ in range(n)]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, scripted or not."""

    body: dict[str, Any]
    """The JSON body (empty if the body was not a JSON object)."""
    headers: dict[str, str]
    """Request headers, with lower-case names."""
    agent: str | None
    """The ``X-Baton-Agent`` header, if sent."""
    path: str


@dataclass(frozen=True)
class _Step:
    reply: Reply
    agent: str | None


@dataclass(frozen=True)
class _Message:
    """A resolved assistant message, ready to be sent whole or as a stream."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    usage: Usage | None


class _DroppedConnection(Exception):
    """Raised inside a streaming response to make uvicorn close the connection mid-body."""


class _QuietDroppedConnection(logging.Filter):
    """Keeps uvicorn from logging the connections we drop on purpose as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _DroppedConnection)


_QUIET = _QuietDroppedConnection()


class ScriptedLLM:
    """A real OpenAI-compatible server on 127.0.0.1 that answers from a script.

    Serves ``POST /v1/chat/completions`` and the Azure path
    ``/openai/deployments/{deployment}/chat/completions``. Strict, like openai-agents'
    scripted model: a request when the script is empty, or from another agent than the
    step expects, is answered with HTTP 400 (code "scripted_unexpected", so clients do not
    retry) and makes ``check()`` fail, as does any step left unused. Used as a context
    manager, it checks on a clean exit and always closes.

    With the openai 3.x client, a ``Stream(truncate_after=k)`` yields the role chunk and k
    content chunks and then raises ``openai.APIConnectionError`` (never ends silently);
    ``Malformed`` makes the call raise ``json.JSONDecodeError``, not an ``openai`` error.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[_Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._unexpected: list[str] = []
        self._closed = False

        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route(
                    "/openai/deployments/{deployment}/chat/completions",
                    self._chat_completions,
                    methods=["POST"],
                ),
            ]
        )
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=1,
        )
        logging.getLogger("uvicorn.error").addFilter(_QUIET)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"scripted-llm-{port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError("scripted LLM server did not start")
            time.sleep(0.01)

        self.root_url = f"http://127.0.0.1:{port}"
        """The server root, e.g. for ``AzureOpenAI(azure_endpoint=...)``."""
        self.base_url = f"{self.root_url}/v1"
        """The ``base_url`` for ``OpenAI``/``AsyncOpenAI``."""

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last ``reset()``, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def unexpected(self) -> list[str]:
        """Descriptions of the requests that did not match the script."""
        with self._lock:
            return list(self._unexpected)

    def expect(self, *replies: Reply, agent: str | None = None) -> ScriptedLLM:
        """Append one step per reply; with ``agent``, each request must come from that agent."""
        with self._lock:
            self._script.extend(_Step(reply, agent) for reply in replies)
        return self

    def reset(self) -> None:
        """Forget the script, the recorded requests and the unexpected ones."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._unexpected.clear()

    def check(self) -> None:
        """Raise AssertionError if a request was unexpected or a step is still unused."""
        with self._lock:
            problems = [f"unexpected request {text}" for text in self._unexpected]
            problems += [f"unused step: {_describe_step(step)}" for step in self._script]
        if problems:
            raise AssertionError("scripted LLM: " + "; ".join(problems))

    def close(self) -> None:
        """Stop the server; requests still in flight get about a second to finish."""
        if self._closed:
            return
        self._closed = True
        self._server.should_exit = True
        self._thread.join(timeout=2)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=1)
        self._socket.close()

    def __enter__(self) -> ScriptedLLM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.check()
        finally:
            self.close()

    async def _chat_completions(self, request: Request) -> Response:
        raw = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        agent = headers.get(AGENT_HEADER)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        recorded = RecordedRequest(body=body, headers=headers, agent=agent, path=request.url.path)

        with self._lock:
            self._requests.append(recorded)
            number = len(self._requests)
            step = self._script[0] if self._script else None
            if not isinstance(parsed, dict):
                reason = "the body is not a JSON object"
            elif step is None:
                reason = "the script is empty"
            elif step.agent is not None and step.agent != agent:
                reason = f"the next step expects agent {step.agent!r}"
            else:
                reason = None
                self._script.popleft()
        if step is None or reason is not None:
            return self._unexpected_request(number, recorded, reason or "")

        model = str(body.get("model") or request.path_params.get("deployment") or "scripted")
        reply = step.reply
        while isinstance(reply, Delay | FunctionReply):
            if isinstance(reply, Delay):
                await asyncio.sleep(reply.seconds)
                reply = reply.then
            else:
                try:
                    reply = reply.fn(body)
                except Exception as exc:
                    return self._unexpected_request(
                        number, recorded, f"its FunctionReply raised {exc!r}"
                    )
        return self._respond(reply, body=body, model=model, number=number, recorded=recorded)

    def _unexpected_request(self, number: int, recorded: RecordedRequest, reason: str) -> Response:
        text = f"#{number} {_describe_request(recorded)}: {reason}"
        with self._lock:
            self._unexpected.append(text)
        return _error_response(
            ErrorReply(
                400,
                message=f"scripted server: unexpected request {text}",
                type="invalid_request_error",
                code="scripted_unexpected",
            ),
            number=number,
        )

    def _respond(
        self,
        reply: Reply,
        *,
        body: dict[str, Any],
        model: str,
        number: int,
        recorded: RecordedRequest,
    ) -> Response:
        streaming = bool(body.get("stream"))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        headers = {"x-request-id": f"req_scripted_{number}"}
        completion_id = f"chatcmpl-scripted-{number}"
        match reply:
            case ErrorReply():
                return _error_response(reply, number=number)
            case Malformed():
                return Response(
                    reply.raw,
                    status_code=reply.status,
                    media_type="application/json",
                    headers=headers,
                )
            case Stream():
                if not streaming:
                    return self._unexpected_request(
                        number, recorded, "a Stream step needs a request with stream: true"
                    )
                content = "".join(reply.chunks)
                message = _Message(content, [], "stop", reply.usage)
                chunks = _stream_chunks(message, body, reply.chunks, include_usage=include_usage)
                if reply.truncate_after is not None:
                    chunks = chunks[: 1 + reply.truncate_after]
                events = _sse_events(
                    chunks, completion_id, model, done=reply.truncate_after is None
                )
                return StreamingResponse(events, media_type="text/event-stream", headers=headers)
            case Delay() | FunctionReply():
                raise AssertionError("delays and functions are resolved before responding")
            case Text() | JSONReply() | ToolCall() | ToolCalls():
                message = _message(reply)
                if streaming:
                    pieces = _split(message.content or "", STREAM_PIECES)
                    chunks = _stream_chunks(message, body, pieces, include_usage=include_usage)
                    events = _sse_events(chunks, completion_id, model, done=True)
                    return StreamingResponse(
                        events, media_type="text/event-stream", headers=headers
                    )
                return JSONResponse(
                    _completion(message, body, completion_id, model), headers=headers
                )


def _message(reply: Text | JSONReply | ToolCall | ToolCalls) -> _Message:
    match reply:
        case Text():
            return _Message(reply.content, [], reply.finish_reason, reply.usage)
        case JSONReply():
            return _Message(json.dumps(reply.obj), [], "stop", reply.usage)
        case ToolCall():
            return _message(ToolCalls([reply]))
        case ToolCalls():
            default_id = ToolCall.__dataclass_fields__["call_id"].default
            calls = [
                replace(call, call_id=f"call_{i}") if call.call_id == default_id else call
                for i, call in enumerate(reply.calls, start=1)
            ]
            tool_calls = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.arguments
                        if isinstance(call.arguments, str)
                        else json.dumps(call.arguments),
                    },
                }
                for call in calls
            ]
            return _Message(None, tool_calls, "tool_calls", reply.usage)


def _usage(message: _Message, body: dict[str, Any]) -> dict[str, int]:
    if message.usage is not None:
        prompt, completion = message.usage.prompt_tokens, message.usage.completion_tokens
    else:
        prompt = estimate_request_tokens(body)
        completion = estimate_tokens(message.content or "") + sum(
            estimate_tokens(call["function"]["arguments"]) for call in message.tool_calls
        )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(
    message: _Message, body: dict[str, Any], completion_id: str, model: str
) -> dict[str, Any]:
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": message.content,
        "refusal": None,
        "annotations": [],
    }
    if message.tool_calls:
        assistant["tool_calls"] = message.tool_calls
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": assistant,
                "logprobs": None,
                "finish_reason": message.finish_reason,
            }
        ],
        "usage": _usage(message, body),
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _stream_chunks(
    message: _Message, body: dict[str, Any], pieces: list[str], *, include_usage: bool
) -> list[dict[str, Any]]:
    """The ``choices``/``usage`` parts of each chunk: role, content or calls, finish, usage."""

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ]
        }

    if message.tool_calls:
        chunks = [choice({"role": "assistant", "content": None})]
        for index, call in enumerate(message.tool_calls):
            function = call["function"]
            head = {"index": index, "id": call["id"], "type": "function"}
            chunks.append(
                choice(
                    {
                        "tool_calls": [
                            {**head, "function": {"name": function["name"], "arguments": ""}}
                        ]
                    }
                )
            )
            chunks += [
                choice({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in _split(function["arguments"], 2)
            ]
    else:
        chunks = [choice({"role": "assistant", "content": ""})]
        chunks += [choice({"content": piece}) for piece in pieces]
    chunks.append(choice({}, message.finish_reason))
    if include_usage:
        chunks.append({"choices": [], "usage": _usage(message, body)})
    return chunks


async def _sse_events(
    chunks: list[dict[str, Any]], completion_id: str, model: str, *, done: bool
) -> AsyncIterator[bytes]:
    for chunk in chunks:
        event = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": None,
            **chunk,
        }
        yield f"data: {json.dumps(event)}\n\n".encode()
    if not done:
        raise _DroppedConnection
    yield b"data: [DONE]\n\n"


def _split(text: str, pieces: int) -> list[str]:
    """``text`` in at most ``pieces`` consecutive parts (none for an empty string)."""
    if not text:
        return []
    size = math.ceil(len(text) / pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


_ERROR_TYPES = {429: "requests", 401: "invalid_request_error", 400: "invalid_request_error"}


def _error_response(reply: ErrorReply, *, number: int) -> Response:
    error_type = reply.type
    if error_type is None:
        if reply.code == "insufficient_quota":
            error_type = "insufficient_quota"
        elif reply.status >= 500:
            error_type = "server_error"
        else:
            error_type = _ERROR_TYPES.get(reply.status, "invalid_request_error")
    error = {"message": reply.message, "type": error_type, "param": None, "code": reply.code}
    headers = {"x-request-id": f"req_scripted_{number}", **reply.headers}
    return JSONResponse({"error": error}, status_code=reply.status, headers=headers)


def _describe_request(recorded: RecordedRequest) -> str:
    messages = recorded.body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages, list) and messages else {}
    content = last.get("content") if isinstance(last, dict) else None
    preview = content if isinstance(content, str) else json.dumps(content)
    if len(preview) > 80:
        preview = preview[:77] + "..."
    return f"(agent={recorded.agent!r}, {recorded.path}, last message {preview!r})"


def _describe_step(step: _Step) -> str:
    text = repr(step.reply)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{text} for agent {step.agent!r}"
