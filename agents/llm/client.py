"""One model call, done carefully: retries with tenacity, accounting, friendly failures.

The openai client's own retries are off (`max_retries=0`): tenacity retries connection
errors, timeouts, 429 (honouring Retry-After) and 5xx with jittered backoff inside an
overall deadline, and never retries any other 4xx. `insufficient_quota` is a 429 that no
wait will fix, so it is not retried either.
"""

from __future__ import annotations

import functools
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from agents.llm.tokens import estimate_request_tokens, estimate_tokens
from db.errors import BatonError
from db.settings import Settings

if TYPE_CHECKING:
    import openai

MAX_ATTEMPTS = 6
AGENT_HEADER = "X-Baton-Agent"
"""Names the agent making a request: handy in proxy logs and for scripted test servers."""

FailureKind = Literal["unavailable", "quota", "rejected", "invalid", "budget", "cut_off"]


class ModelError(BatonError):
    """A model call that ended without a usable reply; `str(exc)` is one sentence."""

    def __init__(self, message: str, *, kind: FailureKind, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        """The HTTP status that ended the call, when there was one."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    """The endpoint reported no usage; Baton estimated both numbers (4 characters a token)."""


@dataclass(frozen=True)
class ToolCallReply:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    """What one successful request returned."""

    content: str | None
    tool_calls: list[ToolCallReply]
    usage: Usage
    latency_ms: float
    attempts: int
    finish_reason: str | None


@dataclass(frozen=True)
class CallRecord:
    """One model call as the accounting sees it, successful or not."""

    agent: str
    model: str
    usage: Usage
    latency_ms: float
    attempts: int
    status: Literal["ok", "invalid", "error"]
    error: str | None = None


Recorder = Callable[[CallRecord], None]
"""Receives every call's record (for LLMCall rows); raises ModelError to stop a call early."""


@dataclass
class Meter:
    """Accounting for one brief: `before` enforces the guards, `record` stores each call."""

    before: Callable[[], None] = lambda: None
    record: Recorder = lambda _record: None
    invalid: Callable[[str], None] = lambda _error: None
    """Marks the last recorded call as one whose output failed validation."""
    calls: list[CallRecord] = field(default_factory=list)


_KEYISH = re.compile(r"\b(sk-[A-Za-z0-9_*-]{6,}|[A-Fa-f0-9]{32,})\b")


def redact(text: str) -> str:
    """Hide anything that looks like an API key before a message is shown or stored."""
    return _KEYISH.sub("[redacted]", text)


def _transient(exc: BaseException) -> bool:
    import openai  # deferred: it takes about a second to import, and offline Baton never needs it

    if isinstance(exc, openai.RateLimitError):
        return exc.code != "insufficient_quota"
    return isinstance(
        exc,
        openai.APIConnectionError | openai.InternalServerError | openai.ConflictError,
    )


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if it did."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return None


_backoff = wait_random_exponential(multiplier=0.5, max=8)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    asked = _retry_after(exc)
    return asked if asked is not None else _backoff(state)


def describe_failure(exc: BaseException, *, model: str, deadline: float) -> ModelError:
    """Turn an openai exception into one sentence a marketer can act on."""
    import openai

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, openai.RateLimitError) and exc.code == "insufficient_quota":
        return ModelError(
            "The model account has no quota left (insufficient_quota); add credit or "
            "point Baton at another endpoint.",
            kind="quota",
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelError(
            f"The model endpoint refused the API key ({exc.status_code}).", kind="rejected"
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelError(f"The model endpoint does not know the model '{model}'.", kind="rejected")
    if isinstance(exc, openai.APIStatusError) and not _transient(exc):
        detail = redact(str(getattr(exc, "message", "") or exc))[:200]
        return ModelError(
            f"The model endpoint rejected the request ({exc.status_code}: {detail}).",
            kind="rejected",
            status=exc.status_code,
        )
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(
            f"The model did not answer within {deadline:g} s (timeouts).", kind="unavailable"
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelError(
            f"The model endpoint kept failing ({exc.status_code}) for {deadline:g} s.",
            kind="unavailable",
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelError("The model endpoint could not be reached.", kind="unavailable")
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return ModelError("The model endpoint sent a reply that is not valid JSON.", kind="invalid")
    return ModelError(
        f"The model call failed ({type(exc).__name__}: {redact(str(exc))[:200]}).",
        kind="unavailable",
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's CA bundle, loaded once per process: loading it takes ~50 ms, which would
    otherwise be paid by every brief. An SSLContext is safe to share between threads."""
    return ssl.create_default_context()


class ModelClient:
    """Async access to one OpenAI-compatible model (OpenAI, Azure, Ollama, vLLM, LM Studio)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise ValueError("No model is configured (BATON_MODEL).")
        self.model = settings.model
        self.config = settings.llm
        self.endpoint = settings.llm.azure_endpoint or settings.openai_base_url or "openai"
        import openai

        self._client: openai.AsyncOpenAI
        http_client = openai.DefaultAsyncHttpxClient(
            verify=_tls_context(), timeout=settings.llm.timeout
        )
        if settings.llm.azure_endpoint:
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=settings.llm.azure_endpoint,
                api_key=settings.openai_api_key,
                api_version=settings.llm.azure_api_version,
                max_retries=0,
                timeout=settings.llm.timeout,
                http_client=http_client,
            )
        else:
            self._client = openai.AsyncOpenAI(
                # Local servers (Ollama, vLLM) need no key, but the client insists on one.
                api_key=settings.openai_api_key or "not-needed",
                base_url=settings.openai_base_url,
                max_retries=0,
                timeout=settings.llm.timeout,
                http_client=http_client,
            )

    async def close(self) -> None:
        await self._client.close()

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception(_transient),
            wait=_wait,
            stop=stop_before_delay(self.config.deadline) | stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        )

    async def complete(
        self,
        *,
        agent: str,
        messages: list[dict[str, Any]],
        meter: Meter,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | None = None,
    ) -> Reply:
        """One chat completion with retries; every outcome is recorded on the meter."""
        meter.before()
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if response_format is not None:
            body["response_format"] = response_format
        started = time.perf_counter()
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    response = await self._client.chat.completions.create(
                        **body, extra_headers={AGENT_HEADER: agent}
                    )
        except Exception as exc:
            error = describe_failure(exc, model=self.model, deadline=self.config.deadline)
            self._record(meter, agent, None, started, attempts, "error", str(error))
            raise error from exc
        if not response.choices:
            error = ModelError("The model endpoint sent a reply with no choices.", kind="invalid")
            self._record(meter, agent, None, started, attempts, "error", str(error))
            raise error
        choice = response.choices[0]
        message = choice.message
        calls = [
            ToolCallReply(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
            for c in (message.tool_calls or [])
            if c.type == "function"
        ]
        reported = response.usage
        usage = (
            Usage(reported.prompt_tokens, reported.completion_tokens)
            if reported is not None
            else Usage(
                estimate_request_tokens(body),
                estimate_tokens((message.content or "") + "".join(c.arguments for c in calls)),
                estimated=True,
            )
        )
        reply = Reply(
            content=message.content,
            tool_calls=calls,
            usage=usage,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
            finish_reason=choice.finish_reason,
        )
        meter.calls.append(CallRecord(agent, self.model, usage, reply.latency_ms, attempts, "ok"))
        meter.record(meter.calls[-1])
        return reply

    def _record(
        self,
        meter: Meter,
        agent: str,
        usage: Usage | None,
        started: float,
        attempts: int,
        status: Literal["ok", "invalid", "error"],
        error: str | None,
    ) -> None:
        record = CallRecord(
            agent,
            self.model,
            usage or Usage(0, 0, estimated=True),  # failed requests are not billed
            (time.perf_counter() - started) * 1000,
            attempts,
            status,
            error,
        )
        meter.calls.append(record)
        meter.record(record)

    async def stream(
        self, *, agent: str, messages: list[dict[str, Any]], meter: Meter
    ) -> AsyncIterator[str]:
        """Stream a plain-text reply token by token.

        Retries happen only before the first token arrives; a stream that breaks off after
        that raises ModelError(kind="cut_off") once the shown text is final.
        """
        meter.before()
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        started = time.perf_counter()
        attempts = 0
        text: list[str] = []
        usage: Usage | None = None
        finished = False
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    response = await self._client.chat.completions.create(
                        **body,
                        stream=True,
                        stream_options={"include_usage": True},
                        extra_headers={AGENT_HEADER: agent},
                    )
            async with response as chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        if choice.delta.content:
                            text.append(choice.delta.content)
                            yield choice.delta.content
                        if choice.finish_reason is not None:
                            finished = True
        except Exception as exc:
            error = (
                ModelError("The model's reply was cut off.", kind="cut_off")
                if text
                else describe_failure(exc, model=self.model, deadline=self.config.deadline)
            )
            self._record(meter, agent, usage, started, attempts, "error", str(error))
            raise error from exc
        if not finished:
            error = ModelError("The model's reply was cut off.", kind="cut_off")
            self._record(meter, agent, usage, started, attempts, "error", str(error))
            raise error
        self._record(
            meter,
            agent,
            usage
            or Usage(estimate_request_tokens(body), estimate_tokens("".join(text)), estimated=True),
            started,
            attempts,
            "ok",
            None,
        )
