"""The Chainlit chat: briefs become plans, proposals become cards, decisions go to the service."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import chainlit as cl
from chainlit.types import Feedback, ThreadDict
from pydantic import ValidationError

from agents.decision import DecisionOutcome, DecisionRequest
from agents.lifecycle import DecisionError
from agents.markdown import plain
from agents.service import Baton
from agents.views import ActionView, PlanView
from app.cards import card_props, result_summary
from app.datalayer import SQLiteDataLayer
from db.errors import BatonError
from db.settings import Settings

T = TypeVar("T")
SETTINGS = Settings.from_env()
BATON, _ = Baton.open(SETTINGS)
WHY = re.compile(r"^\s*why\b", re.IGNORECASE)
WHY_NOT = re.compile(r"^\s*why\s+not\b", re.IGNORECASE)
FORGET = re.compile(r"^\s*forget\s+lesson\s+#?(\d+)\s*$", re.IGNORECASE)
HELP = """**Baton** plans a brief, proposes each step as a card, and runs only what you approve.

- Type a brief: *Win back customers who haven't bought in 90 days, $2,000, email and SMS,
  start December 1*
- On a card: **Approve**, **Edit** (change the parameters, then approve), **Reject** (with a
  reason), **Why?**
- Ask *why ...?* at any time (*why Tuesday?*, *why this audience?*): answers come from the
  decision record
- Ask *why not ...?* (*why not Sunday?*, *why not only email?*): the tool re-runs with your
  alternative and shows both side by side; nothing changes
- Your edits, rejection reasons (*no sends on Sunday*, *keep SMS under 20%*) and thumbs-down
  comments on a card become lessons: type *lessons* to see them, *forget lesson 3* to undo one
- Approve one kind of step unchanged often enough and Baton offers to run it by itself; you
  confirm, and the next rejection of that kind takes it back
- Thumbs up/down and comments on any message are kept as feedback
"""
REFUSALS = (BatonError,)
"""What the service refuses with one sentence a person can act on."""
STEP_STATES = {
    "proposed": "awaiting your decision",
    "approved": "approved",
    "executing": "running",
    "succeeded": "done",
    "failed": "failed",
    "rejected": "rejected",
    "superseded": "superseded",
    "cancelled": "cancelled",
}


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking service call off the event loop (SQLite and tools block)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def _user() -> tuple[str, str]:
    user = cl.user_session.get("user")
    if user is None:
        raise DecisionError("forbidden", "You are not logged in.")
    return user.identifier, str((user.metadata or {}).get("role", "viewer"))


async def _role_of(name: str) -> str:
    from agents.accounts import actor_for

    return (await call(actor_for, BATON.engine, name)).role


async def _refresh_card(props: dict[str, Any], owner: str) -> dict[str, Any]:
    try:
        view = await call(BATON.get_action, str(props["action_id"]))
        role = await _role_of(owner)
    except DecisionError:
        return props
    return {**card_props(view, role=role), "element_id": props.get("element_id")}


@cl.data_layer
def _data_layer() -> SQLiteDataLayer:
    return SQLiteDataLayer(SETTINGS.chat_db_path, refresh_card=_refresh_card)


@cl.password_auth_callback
async def _login(username: str, password: str) -> cl.User | None:
    actor = await call(BATON.authenticate, username, password)
    if actor is None:
        return None
    return cl.User(identifier=actor.name, metadata={"role": actor.role, "provider": "baton"})


@cl.set_starters
async def _starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    return [
        cl.Starter(
            label="Win back lapsed customers",
            message="Win back customers who haven't bought in 90 days, $2,000, email and "
            "SMS, start December 1",
        ),
        cl.Starter(
            label="Last month's performance",
            message="How did our channels perform last month? Give me a KPI report.",
        ),
        cl.Starter(
            label="Review my budget pacing",
            message="Budget review: are we pacing on our $8,000 budget this month?",
        ),
        cl.Starter(
            label="A/B test subject lines",
            message="A/B test two subject lines for the newsletter to engaged subscribers "
            "next week",
        ),
    ]


@cl.on_chat_start
async def _start() -> None:
    cl.user_session.set("cards", {})


@cl.on_chat_resume
async def _resume(thread: ThreadDict) -> None:
    cards: dict[str, tuple[str, str]] = {}
    for element in thread.get("elements") or []:
        props = element.get("props") or {}
        if isinstance(props, dict) and props.get("action_id"):
            cards[str(props["action_id"])] = (element["id"], str(element.get("forId") or ""))
    cl.user_session.set("cards", cards)


async def _send_card(view: ActionView, role: str) -> None:
    props = card_props(view, role=role)
    element = cl.CustomElement(name="ActionCard", props=props, display="inline")
    element.props["element_id"] = element.id
    message = cl.Message(content="", author=f"{props['agent']} specialist", elements=[element])
    await message.send()
    cards = cl.user_session.get("cards") or {}
    cards[view.action_id] = (element.id, message.id)
    cl.user_session.set("cards", cards)


async def _update_card(view: ActionView, role: str) -> None:
    cards = cl.user_session.get("cards") or {}
    if view.action_id not in cards:
        await _send_card(view, role)
        return
    element_id, for_id = cards[view.action_id]
    element = cl.CustomElement(
        id=element_id,
        name="ActionCard",
        display="inline",
        props={**card_props(view, role=role), "element_id": element_id},
        for_id=for_id,
    )
    await element.update()


def _plan_markdown(plan: PlanView, label: str) -> str:
    g = plan.goal
    facts = [f"playbook **{g['playbook']}**"]
    if g.get("budget"):
        facts.append(f"budget **{g['currency']} {g['budget']:,.0f}**")
    if g.get("channels"):
        facts.append("channels **" + ", ".join(g["channels"]) + "**")
    if g.get("start"):
        facts.append(f"start **{g['start']}**")
    lines = [f"**Plan** · {g['objective']}", "", " · ".join(facts), ""]
    for n, step in enumerate(plan.steps, 1):
        state = (
            STEP_STATES.get(step.action.status, step.action.status)
            if step.action
            else "waiting for earlier steps"
        )
        lines.append(f"{n}. *{step.agent}* — {step.title} ({state})")
    for notice in plan.notices:
        lines += ["", f"> ⚠ {plain(notice)}"]  # may quote what a model endpoint said
    usage = f" {plan.usage.summary().capitalize()}." if plan.usage.calls else ""
    version = f", version {plan.version}" if plan.version > 1 else ""
    lines += ["", f"_{label}. Plan `{plan.plan_id}`{version}.{usage}_"]
    return "\n".join(lines)


async def _show_actions(views: list[ActionView], role: str) -> None:
    for view in views:
        await _send_card(view, role)
        if view.status in ("succeeded", "failed"):
            await _post_result(view)


async def _post_result(view: ActionView) -> None:
    if view.status == "failed":
        await cl.Message(content=f"**Failed · {view.title}**: {view.error}").send()
    elif view.status == "succeeded":
        await cl.Message(content=f"**Done · {view.title}**: {result_summary(view)}").send()


async def _plan(brief: str) -> None:
    name, _ = _user()
    role = await _role_of(name)
    async with cl.Step(name="Orchestrator", type="run") as step:
        step.input = brief
        plan = await call(
            BATON.plan_brief, brief, actor=name, thread_id=cl.context.session.thread_id
        )
        step.output = f"{len(plan.steps)} steps · {plan.planner} planner · {plan.usage.summary()}"
        await _show_specialists(plan.plan_id, step.id, set())
    message = cl.Message(content=_plan_markdown(plan, BATON.planner_label))
    await message.send()
    plans = cl.user_session.get("plan_messages") or {}
    plans[plan.plan_id] = message.id
    cl.user_session.set("plan_messages", plans)
    narrative = cl.Message(content="", author="Baton")
    async for piece in BATON.narrate(plan):
        await narrative.stream_token(piece)
    await narrative.send()
    views = [s.action for s in plan.steps if s.action is not None]
    await _show_actions(views, role)
    if not any(v.status == "proposed" for v in views):
        await cl.Message(content="Every step has run: nothing needs your approval.").send()


async def _show_specialists(plan_id: str, parent_id: str | None, shown: set[str]) -> None:
    """Each specialist's work as a step: the context it was given and what it proposed."""
    for trace in await call(BATON.specialist_traces, plan_id):
        if trace.action_id in shown:
            continue
        async with cl.Step(
            name=f"{trace.agent} specialist · {trace.tool}", type="tool", parent_id=parent_id
        ) as step:
            step.language = "json"
            step.input = json.dumps(trace.input, indent=2, default=str)
            step.output = json.dumps(trace.output, indent=2, default=str)


async def _post_revisions(outcome: DecisionOutcome) -> None:
    """Tell the marketer when a result changed the plan (with the diff) or raised a question."""
    for revision in outcome.revisions:
        lines = [f"**Plan revised · version {revision.version}**: {revision.reason}", ""]
        for change in revision.diff:
            mark = {"added": "+", "removed": "−", "changed": "~"}.get(change["change"], "~")
            lines.append(f"- `{mark}` *{change['key']}* — {change['title']}: {change['detail']}")
        lines.append("")
        lines.append("Steps you already decided are unchanged and are not asked again.")
        await cl.Message(content="\n".join(lines), author="Baton").send()
    for question in outcome.questions:
        await cl.Message(content=f"**Question** · {question}", author="Baton").send()


async def _refresh_plan(plan_id: str) -> None:
    """Keep the plan message's step list current as steps are decided."""
    message_id = (cl.user_session.get("plan_messages") or {}).get(plan_id)
    if message_id:
        plan = await call(BATON.get_plan, plan_id)
        await cl.Message(id=message_id, content=_plan_markdown(plan, BATON.planner_label)).update()


async def _why(question: str, action_id: str | None = None) -> None:
    plan_id = await call(BATON.latest_plan_id, thread_id=cl.context.session.thread_id)
    explanation = await call(BATON.explain, action_id=action_id, question=question, plan_id=plan_id)
    answer = cl.Message(content="", author="Baton")
    async for piece in BATON.answer_why(explanation):
        await answer.stream_token(piece)
    await answer.send()


async def _why_not(question: str) -> None:
    plan_id = await call(BATON.latest_plan_id, thread_id=cl.context.session.thread_id)
    comparison = await call(BATON.why_not, question=question, plan_id=plan_id)
    await cl.Message(content=comparison.to_markdown(), author="Baton").send()


async def _import_upload(element: Any) -> None:
    """Import an uploaded CSV; a refusal lists the rows to fix and changes nothing."""
    name = str(getattr(element, "name", "") or "file")
    path = getattr(element, "path", None)
    if not path or not name.lower().endswith(".csv"):
        await cl.Message(content=f"**Not imported:** {name} is not a .csv file.").send()
        return
    user, _ = _user()
    # Chainlit stores uploads under a random name; messages should name the user's file.
    safe = re.sub(r"[^\w.\- ]", "_", Path(name).name)[:120] or "upload.csv"
    folder = Path(await call(tempfile.mkdtemp, prefix="baton-upload-"))
    named = folder / safe
    async with cl.Step(name=f"Import {safe}", type="tool") as step:
        try:
            await call(shutil.copyfile, path, named)
            report = await call(BATON.import_csv, None, named, actor=user)
        except REFUSALS as exc:
            first, *rows = str(exc).splitlines()
            step.output = first
            details = "\n".join(f"- {r.strip()}" for r in rows if r.strip())
            await cl.Message(content=f"**Not imported:** {first}\n\n{details}".strip()).send()
            return
        finally:
            await call(shutil.rmtree, folder, True)
        step.output = f"{report.rows:,} rows"
    replaced = (
        " The generated demo data was removed: real and demo records never mix."
        if report.replaced_demo
        else ""
    )
    await cl.Message(
        content=f"**Imported {safe}** as {report.kind}: {report.rows:,} rows, "
        f"{report.inserted:,} new, {report.updated:,} updated.{replaced}"
    ).send()


async def _show_lessons() -> None:
    views = await call(BATON.list_lessons)
    if not views:
        await cl.Message(content="No lessons yet: your edits, rejection reasons and "
                         "thumbs-down comments teach Baton what to propose next time."
                         ).send()  # fmt: skip
        return
    lines = ["**What Baton has learned** (type *forget lesson N* to undo one):", ""]
    lines += [f"{v.lesson_id}. {v.statement} ({v.playbook} plans)" for v in views]
    await cl.Message(content="\n".join(lines)).send()


@cl.on_message
async def _on_message(message: cl.Message) -> None:
    text = message.content.strip()
    try:
        for element in message.elements or []:
            await _import_upload(element)
        if not text:
            return
        forget = FORGET.match(text)
        if text.lower() in ("help", "/help", "?"):
            await cl.Message(content=HELP).send()
        elif text.lower().strip(" ?.!") in ("lessons", "what have you learned", "show lessons"):
            await _show_lessons()
        elif forget:
            user, _ = _user()
            statement = await call(BATON.forget_lesson, int(forget.group(1)), actor=user)
            await cl.Message(content=f"Forgot lesson {forget.group(1)}: {statement}.").send()
        elif WHY_NOT.match(text):
            await _why_not(text)
        elif WHY.match(text):
            await _why(text)
        else:
            await _plan(text)
    except REFUSALS as exc:
        await cl.Message(content=f"**Not done:** {exc}").send()


@cl.action_callback("baton_decide")
async def _on_decide(action: cl.Action) -> dict[str, Any]:
    """The card's Approve / Edit / Reject. The payload is untrusted: the service re-checks it."""
    try:
        name, _ = _user()
        request = DecisionRequest.model_validate(action.payload)
        role = await _role_of(name)
        outcome = await call(BATON.decide, request, actor=name)
    except ValidationError:
        return {"ok": False, "message": "That decision was not understood; reload the page."}
    except REFUSALS as exc:
        # The card shows the refusal and the current state itself: an element update pushed
        # now would re-mount it and wipe the message before the answer arrives.
        props = await _current_props(str(action.payload.get("action_id", "")))
        return {"ok": False, "message": str(exc), "props": props}
    await _update_card(outcome.action, role)
    if request.verdict != "edit":
        await _post_result(outcome.action)
        if request.verdict == "reject":
            await cl.Message(
                content=f"**Rejected · {outcome.action.title}**: “{request.reason.strip()}”."
            ).send()
    await _post_learning(outcome)
    await _post_revisions(outcome)
    if outcome.new_actions:
        before = {a.action_id for a in await call(BATON.specialist_traces, outcome.action.plan_id)}
        before -= {a.action_id for a in outcome.new_actions}
        await _show_specialists(outcome.action.plan_id, None, before)
    await _show_actions(outcome.new_actions, role)
    await _refresh_plan(outcome.action.plan_id)
    return {"ok": True, "message": "", "props": card_props(outcome.action, role=role)}


async def _post_learning(outcome: DecisionOutcome) -> None:
    """Say what a decision taught, and offer (or take back) autonomy for its kind."""
    notes = [f"Learned: {outcome.lesson}." if outcome.lesson else "", outcome.autonomy_note or ""]
    if any(notes):
        await cl.Message(content=" ".join(n for n in notes if n), author="Baton").send()
    offer = outcome.autonomy_suggestion
    if offer is None:
        return
    if not offer.can_confirm:
        await cl.Message(
            content=f"{offer.text} Someone with the {offer.confirm_role} role can confirm it.",
            author="Baton",
        ).send()
        return
    buttons = [
        cl.Action(
            name="baton_autonomy", payload={"kind": offer.kind, "choice": choice}, label=label
        )
        for choice, label in (("raise", "Yes, run it without asking"), ("decline", "Not now"))
    ]
    message = cl.Message(content=offer.text, author="Baton", actions=buttons)
    await message.send()
    offers = cl.user_session.get("autonomy_offers") or {}
    offers[offer.kind] = message
    cl.user_session.set("autonomy_offers", offers)


@cl.action_callback("baton_autonomy")
async def _on_autonomy(action: cl.Action) -> None:
    """Confirm or decline an autonomy offer. The payload is untrusted: the service re-checks
    the role and that the offer still stands."""
    kind, choice = str(action.payload.get("kind", ""))[:64], action.payload.get("choice")
    if choice not in ("raise", "decline"):
        return
    try:
        name, _ = _user()
        answer = BATON.raise_autonomy if choice == "raise" else BATON.decline_autonomy
        text = await call(answer, kind, actor=name)
    except REFUSALS as exc:
        text = f"**Not done:** {exc}"
    # One answer settles the offer: both buttons go, and the offer says what was decided.
    offer = (cl.user_session.get("autonomy_offers") or {}).pop(kind, None)
    if offer is None:
        await action.remove()
        await cl.Message(content=text, author="Baton").send()
        return
    for button in offer.actions:
        await button.remove()
    offer.actions = []
    offer.content = f"{offer.content}\n\n{text}"
    await offer.update()


async def _current_props(action_id: str) -> dict[str, Any] | None:
    """What a card of this session should show now, or None when it is not one of ours."""
    cards = cl.user_session.get("cards") or {}
    if action_id not in cards:
        return None
    try:
        view = await call(BATON.get_action, action_id)
        name, _ = _user()
        return card_props(view, role=await _role_of(name))
    except DecisionError:
        return None


@cl.action_callback("baton_why")
async def _on_why(action: cl.Action) -> dict[str, Any]:
    try:
        await _why("", action_id=str(action.payload.get("action_id", "")))
    except DecisionError as exc:
        return {"ok": False, "message": str(exc)}
    return {"ok": True}


@cl.action_callback("baton_card")
async def _on_card(action: cl.Action) -> dict[str, Any]:
    """The card asks for its current state when it mounts (after a reload or a resume)."""
    try:
        name, _ = _user()
        view = await call(BATON.get_action, str(action.payload.get("action_id", "")))
    except DecisionError as exc:
        return {"ok": False, "message": str(exc)}
    return {"ok": True, "props": card_props(view, role=await _role_of(name))}


@cl.on_feedback
async def _on_feedback(feedback: Feedback) -> None:
    name, _ = _user()
    cards = cl.user_session.get("cards") or {}
    # Feedback on a card's message is feedback on its action: a thumbs-down comment teaches.
    action_id = next((a for a, (_, m) in cards.items() if m and m == feedback.forId), None)
    learned = await call(
        BATON.record_feedback,
        actor=name,
        value=int(feedback.value),
        comment=feedback.comment or "",
        message_id=feedback.forId,
        thread_id=feedback.threadId,
        action_id=action_id,
    )
    if learned:
        await cl.Message(content=f"Learned: {learned}.", author="Baton").send()
