"""End to end with a model: a real `baton run` pointed at the scripted OpenAI-compatible server.

The server process reaches the test's scripted server on 127.0.0.1; each request must be
the next scripted step for its agent, and every step must be used (the `scripted_llm`
fixture checks both when the test ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from tests.browser import test_browser
from tests.browser.test_browser import (
    STEP_TIMEOUT_MS,
    Server,
    Tab,
    assistant_message,
    card,
    evidence_value,
    expect,
    open_step,
)
from tests.support.browser import BatonServer
from tests.support.home import Template, copy_home
from tests.support.llm_script import plan, specialist
from tests.support.scripted_llm import ScriptedLLM, Stream

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = [pytest.mark.browser]

# The browser, the logged-in tabs and the server log on failure, as in test_browser; the
# `server` fixture below replaces that module's offline server with one that has a model.
browser = test_browser.browser
open_tab = test_browser.open_tab
_server_output_on_failure = test_browser._server_output_on_failure

BRIEF = "Win back customers who haven't bought in 60 days by email, $1,200, start next Monday"
RATIONALE = "Lapsed email customers with consent, as the brief asks; the rest are suppressed."
NARRATIVE = ["This winback plan ", "starts with the lapsed segment; ", "approve it to go on."]
PIXEL = " ![pixel](http://localhost/pixel.png)"
"""Markdown a steered model might write to make the browser fetch a URL: it must stay text."""


@pytest.fixture(scope="module")
def server(
    template_home: Template,
    tmp_path_factory: pytest.TempPathFactory,
    _scripted_server: ScriptedLLM,
) -> Iterator[Server]:
    """`baton run` whose model is the scripted server."""
    home = copy_home(template_home, tmp_path_factory.mktemp("browser-llm") / ".baton")
    process = BatonServer(
        home=home,
        log_path=home.parent / "server.log",
        env={
            "OPENAI_BASE_URL": _scripted_server.base_url,
            "BATON_MODEL": "scripted-model",
            "BATON_LLM_TIMEOUT": "20",
            "BATON_LLM_DEADLINE": "40",
        },
    )
    process.start()
    try:
        yield Server(process=process, home=home, admin_password=template_home.admin_password)
    finally:
        process.stop()


def test_the_model_plans_the_specialist_explains_and_the_narrative_streams(
    open_tab: Callable[[str], Tab], server: Server, scripted_llm: ScriptedLLM
) -> None:
    # The server plans with its own clock; the scripted planner resolves dates with the same.
    scripted_llm.expect(plan(BRIEF, today=datetime.now(UTC).date()), agent="planner")
    scripted_llm.expect(specialist(RATIONALE), agent="audience")
    scripted_llm.expect(Stream([*NARRATIVE, PIXEL]), agent="narrator")
    tab = open_tab("admin")
    page = tab.page

    tab.say(BRIEF)

    endpoint = scripted_llm.base_url.split("//", 1)[1].split("/", 1)[0]
    planned = assistant_message(page, "playbook winback")
    expect(planned).to_contain_text(f"LLM planner (scripted-model via {endpoint})")
    expect(planned).to_contain_text("2 model calls")  # the planner's and the specialist's
    audience = card(page, "build_segment")
    expect(audience).to_have_attribute("data-status", "proposed", timeout=STEP_TIMEOUT_MS)
    expect(audience.get_by_test_id("card-rationale")).to_have_text(RATIONALE)

    # The narrative arrived token by token, not as one finished message (Chainlit sends the
    # first token with the message's start, each later one as its own stream_token event).
    narrative = assistant_message(page, "".join(NARRATIVE))
    expect(narrative).to_have_count(1)
    later = [p for p in NARRATIVE[1:] if any(f'"token":"{p}"' in f for f in tab.streamed)]
    assert later == NARRATIVE[1:], tab.streamed
    # The model's image markup is shown as the text it is; no image element, no fetch.
    expect(narrative).to_contain_text(PIXEL.strip())
    assert page.locator('img[src*="pixel"]').count() == 0
    assert not [r for r in tab.requested if "pixel" in r], tab.requested

    # The specialist's work is a step inside the orchestrator's: the context it was given
    # and what it proposed.
    open_step(page, "Used Orchestrator")
    open_step(page, "Used audience specialist · build_segment")
    expect(page.get_by_text('"model_context"').first).to_be_visible()
    expect(page.get_by_text(RATIONALE).first).to_be_visible()

    # Why: the model phrases the record, and the record itself follows with its numbers.
    phrasing = "It picks lapsed email customers who can still be reached, as the record shows."
    scripted_llm.expect(Stream([phrasing[:30], phrasing[30:]]), agent="explainer")
    tab.say("why this audience?")
    answer = assistant_message(page, phrasing)
    expect(answer).to_contain_text("Why: Build the lapsed-customer segment")
    expect(answer).to_contain_text(evidence_value(audience, "Size"))
