"""Tools given an executed segment read its stored members: the same answers as its id list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agents.service import Baton
from db.engine import read_session, write_session
from db.workspace_models import SegmentMember
from tests.support.workspace import add_action
from tools.channel import channel_mix
from tools.members import member_scope
from tools.schedule import send_plan
from tools.send_time import best_send_time, clear_send_time_cache, slot_rate

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _segment(baton: Baton, action_id: str, every: int) -> list[int]:
    """Store every `every`-th demo contact as the members of a new segment action."""
    with write_session(baton.engine) as s:
        ids = [
            int(row[0])
            for row in s.connection().exec_driver_sql("SELECT id FROM contact ORDER BY id")
        ][::every]
        add_action(s, action_id)
        s.add_all(SegmentMember(action_id=action_id, contact_id=i) for i in ids)
    return ids


def test_schedule_tools_read_the_members_in_place(baton: Baton) -> None:
    ids = _segment(baton, "act-members", 3)
    with read_session(baton.engine) as s:
        by_list = send_plan(
            s, contact_ids=ids, send_date=date(2026, 12, 1), send_hour_local=10,
            quiet_start=21, quiet_end=8,
        )  # fmt: skip
        by_segment = send_plan(
            s, segment_action_id="act-members", send_date=date(2026, 12, 1), send_hour_local=10,
            quiet_start=21, quiet_end=8,
        )  # fmt: skip
        assert by_segment == by_list
        assert by_segment.contacts == len(ids) and by_segment.missing == 0

        mix = channel_mix(s, contact_ids=None, segment_action_id="act-members", now=NOW)
        assert mix == channel_mix(s, contact_ids=ids, now=NOW)
        assert mix.contacts == len(ids)
        assert mix != channel_mix(s, contact_ids=None, now=NOW)

        clear_send_time_cache()
        found = best_send_time(s, contact_ids=None, segment_action_id="act-members", now=NOW)
        clear_send_time_cache()
        assert found == best_send_time(s, contact_ids=ids, now=NOW)
        assert found.total_sends > 0
        slot = slot_rate(
            s, contact_ids=None, segment_action_id="act-members", now=NOW, weekday=1, hour=10
        )
        assert slot == slot_rate(s, contact_ids=ids, now=NOW, weekday=1, hour=10)


def test_a_remembered_send_time_follows_the_members(baton: Baton) -> None:
    """Re-storing a segment's members changes its answer, though the action id stays."""
    ids = _segment(baton, "act-again", 2)
    clear_send_time_cache()
    with read_session(baton.engine) as s:
        before = best_send_time(s, contact_ids=None, segment_action_id="act-again", now=NOW)
    with write_session(baton.engine) as s:
        s.connection().exec_driver_sql(
            "DELETE FROM segmentmember WHERE action_id = ? AND contact_id > ?",
            ("act-again", ids[len(ids) // 4]),
        )
    with read_session(baton.engine) as s:
        after = best_send_time(s, contact_ids=None, segment_action_id="act-again", now=NOW)
        assert after == best_send_time(s, contact_ids=ids[: len(ids) // 4 + 1], now=NOW)
    assert after.total_sends < before.total_sends


def test_a_scope_is_ids_or_a_segment(baton: Baton) -> None:
    with read_session(baton.engine) as s:
        scope = member_scope(s.connection(), "x", contact_ids=[1], segment_action_id="a")
        with pytest.raises(ValueError, match="not both"), scope:
            pass
        with pytest.raises(ValueError, match="contact_ids or segment_action_id"):
            send_plan(s, send_date=date(2026, 12, 1), send_hour_local=10, quiet_start=21,
                      quiet_end=8)  # fmt: skip
