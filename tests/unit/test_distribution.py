"""Shadow deliveries: consent-aware, set-based and idempotent per action revision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from db.engine import read_session, write_session
from db.execution_models import Delivery
from tests.support.workspace import NOW, add_action, add_contact, new_engine
from tools.distribution import DeliveryCounts, queue_shadow_deliveries

PAYLOAD = {"subject": "We saved your spot", "send_date": "2026-11-24"}


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[tuple[Engine, dict[str, int]]]:
    engine = new_engine(tmp_path)
    with write_session(engine) as s:
        add_action(s, "act-1")
        ids = {
            "ok": add_contact(s, sms_consent=True),
            "unsubscribed": add_contact(s, sms_consent=True, push_consent=True, unsubscribed=True),
            "bounced": add_contact(s, bounced=True, sms_consent=True),
            "no_consent": add_contact(s, email_consent=False),
        }
    yield engine, ids
    engine.dispose()


def queue(
    engine: Engine, ids: list[int], *, revision: int = 1, channels: list[str] | None = None
) -> DeliveryCounts:
    with write_session(engine) as session:
        return queue_shadow_deliveries(
            session,
            action_id="act-1",
            revision=revision,
            contact_ids=ids,
            channels=channels or ["email", "sms"],
            payload=PAYLOAD,
            now=NOW,
        )


def test_queues_each_eligible_contact_and_channel_once(
    outbox: tuple[Engine, dict[str, int]],
) -> None:
    engine, ids = outbox
    targets = [*ids.values(), 999]  # 999 is no contact at all
    first = queue(engine, targets)
    assert (first.queued, first.already_queued) == (3, 0)
    assert first.by_channel == {"email": 1, "sms": 2}
    assert first.skipped == 5 * 2 - 3

    second = queue(engine, targets)
    assert (second.queued, second.already_queued) == (0, 3)
    assert second.by_channel == {"email": 0, "sms": 0}

    with read_session(engine) as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
    assert [(r.contact_id, r.channel) for r in rows] == [
        (ids["ok"], "email"),
        (ids["ok"], "sms"),
        (ids["bounced"], "sms"),
    ]
    assert {r.idempotency_key for r in rows} == {
        f"act-1:1:{ids['ok']}:email",
        f"act-1:1:{ids['ok']}:sms",
        f"act-1:1:{ids['bounced']}:sms",
    }
    assert all(r.connector == "shadow" and r.status == "shadow" for r in rows)
    assert all(r.payload == PAYLOAD and r.attempts == 0 for r in rows)


def test_unsubscribed_are_never_queued(outbox: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = outbox
    counts = queue(engine, [ids["unsubscribed"]], channels=["email", "sms", "push"])
    assert counts.queued == 0 and counts.skipped == 3
    with read_session(engine) as session:
        assert session.exec(select(Delivery)).all() == []


def test_a_new_revision_is_a_new_delivery(outbox: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = outbox
    assert queue(engine, [ids["ok"]]).queued == 2
    assert queue(engine, [ids["ok"]], revision=2).queued == 2
    assert queue(engine, [], revision=3).queued == 0


def test_only_messaging_channels(outbox: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = outbox
    with pytest.raises(ValueError, match="social"):
        queue(engine, [ids["ok"]], channels=["email", "social"])
