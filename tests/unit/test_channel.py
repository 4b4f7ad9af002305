"""Channel mix: reach, rates and the order to use email, SMS and push in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from db.engine import read_session, write_session
from tests.support.workspace import NOW, add_contact, add_event, new_engine
from tools import channel
from tools.channel import channel_mix


@pytest.fixture
def mix(tmp_path: Path) -> Iterator[tuple[Session, dict[str, int]]]:
    """Reach: email a, e; SMS a, c; push b. Email 4 sends, 2 clicks, 1 purchase; SMS 2, 1, 1."""
    engine = new_engine(tmp_path)
    day = timedelta(days=1)
    with write_session(engine) as s:
        ids = {
            "a": add_contact(s, sms_consent=True),
            "b": add_contact(s, bounced=True, push_consent=True),
            "c": add_contact(s, email_consent=False, sms_consent=True),
            "d": add_contact(s, unsubscribed=True, sms_consent=True, push_consent=True),
            "e": add_contact(s),
        }
        for contact in (ids["a"], ids["e"]):
            for n in (1, 2):
                add_event(s, contact, "send", NOW - n * day, campaign=f"e{n}")
            add_event(s, contact, "click", NOW - day, campaign="e1")
        add_event(s, ids["a"], "purchase", NOW - day, campaign="e1", revenue=40.0)
        add_event(s, ids["a"], "send", NOW - 100 * day, campaign="old")  # before the window
        add_event(s, ids["e"], "send", NOW + day, campaign="later")  # after `now`
        for contact in (ids["a"], ids["c"]):
            add_event(s, contact, "send", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["c"], "click", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["c"], "purchase", NOW - 3 * day, channel="sms", campaign="s1")
        add_event(s, ids["a"], "purchase", NOW - 2 * day, channel="search", campaign="")
    with read_session(engine) as session:
        yield session, ids
    engine.dispose()


def test_channel_mix_by_hand(mix: tuple[Session, dict[str, int]]) -> None:
    session, _ = mix
    result = channel_mix(session, contact_ids=None, now=NOW)
    got = {
        c.channel: (c.reachable, c.sends, c.clicks, c.conversions, c.click_rate, c.conversion_rate)
        for c in result.channels
    }
    assert got == {
        "email": (2, 4, 2, 1, 0.5, 0.25),
        "sms": (2, 2, 1, 1, 0.5, 0.5),
        "push": (1, 0, 0, 0, None, None),
    }
    # Expected conversions: SMS 2 * 0.5 = 1.0 beats email 2 * 0.25 = 0.5; push has no history.
    assert [c.expected_conversions for c in result.channels] == [0.5, 1.0, None]
    assert result.recommended_order == ["sms", "email", "push"]
    assert [c.rate_basis for c in result.channels] == ["contacts", "contacts", "none"]
    assert result.contacts == 5
    assert result.detail.startswith("Lead with SMS (2 reachable, 50.00% conversion per send")
    assert "push (1 reachable, no sends in the last 90 days)" in result.detail


def test_a_small_audience_borrows_workspace_rates(
    mix: tuple[Session, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, ids = mix
    result = channel_mix(session, contact_ids=[ids["c"]], now=NOW)
    by_channel = {c.channel: c for c in result.channels}
    assert [c.reachable for c in result.channels] == [0, 1, 0]
    assert (by_channel["sms"].rate_basis, by_channel["sms"].sends) == ("workspace", 2)
    # Nobody here is reachable by email or push, so their rates are not borrowed.
    assert by_channel["email"].rate_basis == by_channel["push"].rate_basis == "none"
    assert result.recommended_order == ["sms"]
    assert "Nobody is reachable by email or push" in result.detail
    monkeypatch.setattr(channel, "MIN_SENDS", 1)
    own = channel_mix(session, contact_ids=[ids["c"]], now=NOW)
    sms = own.channels[1]
    assert (sms.rate_basis, sms.sends, sms.clicks, sms.conversions) == ("contacts", 1, 1, 1)
    nobody = channel_mix(session, contact_ids=[ids["d"]], now=NOW)
    assert nobody.recommended_order == []
    assert nobody.detail == "Nobody in this audience can be reached by email, SMS or push."


def test_a_mix_compares_only_the_channels_asked_for(mix: tuple[Session, dict[str, int]]) -> None:
    session, ids = mix
    both = channel_mix(session, contact_ids=None, now=NOW, channels=["sms", "email"])
    assert [c.channel for c in both.channels] == ["email", "sms"]
    assert both.recommended_order == ["sms", "email"]
    assert "push" not in both.detail
    full = channel_mix(session, contact_ids=None, now=NOW)
    assert both.channels == full.channels[:2]
    push_only = channel_mix(session, contact_ids=[ids["c"]], now=NOW, channels=["push"])
    assert push_only.detail == "Nobody in this audience can be reached by push."
    for wrong in ([], ["fax"]):
        with pytest.raises(ValueError, match="channels"):
            channel_mix(session, contact_ids=None, now=NOW, channels=wrong)
