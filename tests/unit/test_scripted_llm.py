"""The scripted LLM server, driven through the real openai client (sync, async and Azure)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel

from agents.llm.tokens import estimate_request_tokens, estimate_tokens
from tests.support.scripted_llm import (
    Delay,
    ErrorReply,
    FunctionReply,
    JSONReply,
    Malformed,
    Reply,
    ScriptedLLM,
    Stream,
    Text,
    ToolCall,
    ToolCalls,
    Usage,
    burst,
)

MODEL = "gpt-test"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "size_audience",
            "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}},
        },
    }
]


class Segment(BaseModel):
    name: str
    days_since_purchase: int


@pytest.fixture
def client(scripted_llm: ScriptedLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=scripted_llm.base_url, api_key="test", max_retries=0, timeout=5
    ) as client:
        yield client


def async_client(server: ScriptedLLM, timeout: float = 5) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test", max_retries=0, timeout=timeout
    )


def test_text_reply_reports_estimated_usage(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Text("Hello there"))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO)

    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert (choice.message.role, choice.message.content) == ("assistant", "Hello there")
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    request = scripted_llm.requests[0]
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == estimate_request_tokens(request.body)
    assert completion.usage.completion_tokens == estimate_tokens("Hello there")
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_explicit_usage_and_finish_reason(scripted_llm: ScriptedLLM, client: openai.OpenAI) -> None:
    scripted_llm.expect(Text("Hel", usage=Usage(1000, 3), finish_reason="length"))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO)

    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (1000, 3)
    assert completion.usage.total_tokens == 1003


def test_json_reply_is_parsed_into_the_response_format(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(JSONReply({"name": "Lapsed 90d", "days_since_purchase": 90}))

    completion = client.chat.completions.parse(model=MODEL, messages=HELLO, response_format=Segment)

    assert completion.choices[0].message.parsed == Segment(
        name="Lapsed 90d", days_since_purchase=90
    )
    assert scripted_llm.requests[0].body["response_format"]["type"] == "json_schema"


def test_tool_call_reply(scripted_llm: ScriptedLLM, client: openai.OpenAI) -> None:
    scripted_llm.expect(ToolCall("size_audience", {"days": 90}, call_id="call_abc"))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO, tools=TOOLS)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_abc", "size_audience")
    assert json.loads(call.function.arguments) == {"days": 90}
    assert completion.usage is not None
    assert completion.usage.completion_tokens == estimate_tokens(call.function.arguments)


def test_several_tool_calls_and_verbatim_arguments(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(
        ToolCalls([ToolCall("size_audience", {"days": 30}), ToolCall("size_audience", "{bad")])
    )

    completion = client.chat.completions.create(model=MODEL, messages=HELLO, tools=TOOLS)

    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert [call.id for call in calls] == ["call_1", "call_2"]
    functions = [call.function for call in calls if call.type == "function"]
    assert [function.arguments for function in functions] == ['{"days": 30}', "{bad"]


def test_stream_with_usage() -> None:
    async def run(server: ScriptedLLM) -> tuple[str, list[str | None], CompletionUsage | None]:
        async with async_client(server) as client:
            stream = await client.chat.completions.create(
                model=MODEL,
                messages=HELLO,
                stream=True,
                stream_options={"include_usage": True},
            )
            text = ""
            finish: list[str | None] = []
            usage: CompletionUsage | None = None
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        text += choice.delta.content or ""
                        finish.append(choice.finish_reason)
            return text, finish, usage

    with ScriptedLLM() as server:
        server.expect(Stream(["Hel", "lo ", "there"]))
        text, finish, usage = asyncio.run(run(server))

        assert text == "Hello there"
        assert finish == [None, None, None, None, "stop"]
        assert usage is not None
        assert usage.prompt_tokens == estimate_request_tokens(server.requests[0].body)
        assert usage.completion_tokens == estimate_tokens("Hello there")


def test_text_reply_is_streamed_when_the_request_streams(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Text("Hello there, friend"))

    with client.chat.completions.create(model=MODEL, messages=HELLO, stream=True) as stream:
        chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert "".join(p or "" for p in pieces) == "Hello there, friend"
    assert len(pieces) == 4
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # no include_usage, no usage chunk


def test_tool_call_is_streamed_when_the_request_streams(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(ToolCall("size_audience", {"days": 90}))

    with client.chat.completions.create(
        model=MODEL, messages=HELLO, tools=TOOLS, stream=True
    ) as stream:
        chunks = list(stream)

    name, arguments = "", ""
    for chunk in chunks:
        for call in chunk.choices[0].delta.tool_calls or []:
            assert call.function is not None
            name += call.function.name or ""
            arguments += call.function.arguments or ""
    assert (name, json.loads(arguments)) == ("size_audience", {"days": 90})
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_truncated_stream_raises_connection_error_after_the_sent_chunks(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Stream(["Hel", "lo ", "there"], truncate_after=2))
    received: list[str | None] = []

    with (
        pytest.raises(openai.APIConnectionError),
        client.chat.completions.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        ) as stream,
    ):
        for chunk in stream:
            assert chunk.choices[0].finish_reason is None
            received.append(chunk.choices[0].delta.content)

    assert received == ["", "Hel", "lo "]


def test_truncated_stream_raises_in_the_async_client_too(scripted_llm: ScriptedLLM) -> None:
    async def run() -> list[str | None]:
        received: list[str | None] = []
        async with async_client(scripted_llm) as client:
            stream = await client.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
            async with stream:
                async for chunk in stream:
                    received.append(chunk.choices[0].delta.content)
        return received

    scripted_llm.expect(Stream(["a", "b"], truncate_after=1))
    with pytest.raises(openai.APIConnectionError):
        asyncio.run(run())


def test_rate_limit_carries_retry_after(scripted_llm: ScriptedLLM, client: openai.OpenAI) -> None:
    scripted_llm.expect(ErrorReply(429, "slow down", headers={"Retry-After": "1"}))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.status_code == 429
    assert caught.value.message == "Error code: 429 - slow down"
    assert caught.value.body == {
        "message": "slow down",
        "type": "requests",
        "param": None,
        "code": None,
    }


def test_insufficient_quota_is_a_rate_limit_error_with_a_code(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(ErrorReply(429, "You exceeded your quota", code="insufficient_quota"))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "You exceeded your quota"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
    ],
)
def test_error_statuses_map_to_openai_errors(
    scripted_llm: ScriptedLLM, client: openai.OpenAI, status: int, error: type[Exception]
) -> None:
    scripted_llm.expect(ErrorReply(status))

    with pytest.raises(error):
        client.chat.completions.create(model=MODEL, messages=HELLO)


def test_burst_scripts_consecutive_errors(scripted_llm: ScriptedLLM) -> None:
    with openai.OpenAI(
        base_url=scripted_llm.base_url, api_key="test", max_retries=2, timeout=5
    ) as retrying:
        scripted_llm.expect(*burst(2), Text("finally"))
        with pytest.MonkeyPatch.context() as patch:
            # The client's own backoff sleeps about a second; the retry count is what matters.
            patch.setattr(retrying, "_calculate_retry_timeout", lambda *args: 0.0)
            completion = retrying.chat.completions.create(model=MODEL, messages=HELLO)

    assert completion.choices[0].message.content == "finally"
    retries = [request.headers["x-stainless-retry-count"] for request in scripted_llm.requests]
    assert retries == ["0", "1", "2"]


def test_delay_makes_the_client_time_out(scripted_llm: ScriptedLLM) -> None:
    async def run() -> None:
        async with async_client(scripted_llm, timeout=0.2) as client:
            await client.chat.completions.create(model=MODEL, messages=HELLO)

    scripted_llm.expect(Delay(1.0, Text("too late")))
    with pytest.raises(openai.APITimeoutError):
        asyncio.run(run())


def test_delay_shorter_than_the_timeout_answers(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Delay(0.05, Text("on time")))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO)

    assert completion.choices[0].message.content == "on time"


def test_malformed_body_raises_json_decode_error(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Malformed())

    # Not an openai.APIError: the client calls response.json() and lets the error through.
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model=MODEL, messages=HELLO)


def test_agent_header_must_match_the_step(scripted_llm: ScriptedLLM, client: openai.OpenAI) -> None:
    scripted_llm.expect(Text("plan"), agent="planner").expect(Text("copy"), agent="creative")

    plan = client.chat.completions.create(
        model=MODEL, messages=HELLO, extra_headers={"X-Baton-Agent": "planner"}
    )
    copy = client.chat.completions.create(
        model=MODEL, messages=HELLO, extra_headers={"X-Baton-Agent": "creative"}
    )

    assert (plan.choices[0].message.content, copy.choices[0].message.content) == ("plan", "copy")
    assert [request.agent for request in scripted_llm.requests] == ["planner", "creative"]
    assert scripted_llm.requests[0].headers["x-baton-agent"] == "planner"
    assert scripted_llm.requests[0].path == "/v1/chat/completions"


def test_wrong_agent_is_unexpected_and_leaves_the_step(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Text("plan"), agent="planner")

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL, messages=HELLO, extra_headers={"X-Baton-Agent": "narrator"}
        )

    assert caught.value.code == "scripted_unexpected"
    with pytest.raises(AssertionError) as failed:
        scripted_llm.check()
    assert "agent='narrator'" in str(failed.value)
    assert "unused step: Text(content='plan'" in str(failed.value)
    scripted_llm.reset()


def test_request_with_an_empty_script_is_a_400_and_fails_check(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert caught.value.code == "scripted_unexpected"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.message.startswith(
        "Error code: 400 - scripted server: unexpected request #1"
    )
    assert len(scripted_llm.requests) == 1  # recorded, and not retried
    with pytest.raises(AssertionError, match=r"last message 'Say hello'\): the script is empty"):
        scripted_llm.check()
    scripted_llm.reset()


def test_unused_step_fails_check(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.expect(JSONReply({"unused": True}), agent="audience")

    with pytest.raises(AssertionError, match=r"unused step: JSONReply.*for agent 'audience'"):
        scripted_llm.check()
    scripted_llm.reset()
    scripted_llm.check()


def test_stream_step_for_a_plain_request_is_unexpected(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    scripted_llm.expect(Stream(["a"]))

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=HELLO)

    with pytest.raises(AssertionError, match="needs a request with stream: true"):
        scripted_llm.check()
    scripted_llm.reset()


def test_function_reply_sees_the_request_body(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    def echo(body: dict[str, Any]) -> Reply:
        return Text(f"{body['model']}: {body['messages'][-1]['content']}")

    scripted_llm.expect(FunctionReply(echo))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO)

    assert completion.choices[0].message.content == "gpt-test: Say hello"


def test_function_reply_that_raises_fails_check(
    scripted_llm: ScriptedLLM, client: openai.OpenAI
) -> None:
    def broken(body: dict[str, Any]) -> Reply:
        raise KeyError("nope")

    scripted_llm.expect(FunctionReply(broken))

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=HELLO)
    with pytest.raises(AssertionError, match="FunctionReply raised KeyError"):
        scripted_llm.check()
    scripted_llm.reset()


def test_azure_deployment_path(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.expect(Text("from azure"))

    with openai.AzureOpenAI(
        azure_endpoint=scripted_llm.root_url,
        api_key="x",
        api_version="2024-10-21",
        max_retries=0,
        timeout=5,
    ) as azure:
        completion = azure.chat.completions.create(model="baton-gpt", messages=HELLO)

    assert completion.choices[0].message.content == "from azure"
    assert completion.model == "baton-gpt"
    assert scripted_llm.requests[0].path == "/openai/deployments/baton-gpt/chat/completions"


def test_context_manager_checks_on_exit() -> None:
    server = ScriptedLLM()
    with pytest.raises(AssertionError, match="unused step"), server:
        server.expect(Text("never asked"))
    with (
        pytest.raises(openai.APIConnectionError),
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=1) as client,
    ):
        client.chat.completions.create(model=MODEL, messages=HELLO)
