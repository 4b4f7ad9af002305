"""A launch that also exports its approved audience as a CSV file an ESP can import."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import col, select

from agents.service import Baton
from agents.views import ActionView
from app.cards import card_props
from db.engine import read_session, write_session
from db.models import Action
from db.workspace_models import Contact, SegmentMember
from tests.support.flow import action_for, approve, approve_all_pending
from tests.support.home import TODAY, WINBACK, make_settings

ESP_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "region",
    "timezone",
    "email_consent",
    "sms_consent",
    "push_consent",
]
"""What an email-and-SMS launch exports: the default columns plus the phone for SMS."""


def _rows(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["label"]: r["value"] for r in rows}


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _proposed_launch(baton: Baton, plan_id: str) -> ActionView:
    for tool in ("build_segment", "draft_copy", "schedule_send", "allocate_budget"):
        approve(baton, action_for(baton, plan_id, tool))
    launch = action_for(baton, plan_id, "launch_campaign")
    assert launch.status == "proposed" and launch.requires_approval
    return launch


def _members(baton: Baton, segment_id: str) -> list[Contact]:
    with read_session(baton.engine) as s:
        query = (
            select(Contact)
            .join(SegmentMember, col(SegmentMember.contact_id) == col(Contact.id))
            .where(SegmentMember.action_id == segment_id)
            .order_by(col(Contact.id))
        )
        return list(s.exec(query))


def test_an_approved_launch_exports_its_audience_once(baton: Baton, home: Path) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    launch = _proposed_launch(baton, plan.plan_id)
    card = card_props(launch, role="admin")
    export_field = next(f for f in card["fields"] if f["path"] == "export_csv")
    assert (export_field["type"], export_field["value"]) == ("bool", False)
    assert export_field["label"] == "Export audience as CSV"
    assert _rows(card["evidence"])["Columns of the audience export"] == ", ".join(ESP_COLUMNS)

    segment = action_for(baton, plan.plan_id, "build_segment")
    members = _members(baton, segment.action_id)
    assert segment.result is not None and len(members) == segment.result["size"] > 3
    # Between the segment and the launch, one member unsubscribes and two are renamed by
    # an import into cells a spreadsheet would run as formulas.
    gone, planted, dashed = members[0].id, members[1].id, members[2].id
    with write_session(baton.engine) as s:
        for contact_id, changes in (
            (gone, {"unsubscribed": True}),
            (planted, {"first_name": '=HYPERLINK("http://x.test","open")', "last_name": "@SUM(1)"}),
            (dashed, {"first_name": "-2+3", "last_name": "+cmd|' /C calc'!A0"}),
        ):
            contact = s.get(Contact, contact_id)
            assert contact is not None
            for name, value in changes.items():
                setattr(contact, name, value)
            s.add(contact)

    done = approve(baton, launch, changes={"export_csv": True})

    assert done.status == "succeeded" and done.params["export_csv"] is True
    assert done.result is not None
    export = done.result["export"]
    path = home / "exports" / f"{plan.plan_id}-{launch.action_id}.csv"
    assert export["file"] == str(path)
    assert {k: export[k] for k in ("rows", "columns", "left_out")} == {
        "rows": len(members) - 1,
        "columns": ESP_COLUMNS,
        "left_out": 1,
    }
    # Every key the launch result had before the export stays.
    assert {"connector", "mode", "queued", "already_queued", "by_channel", "skipped"} <= set(
        done.result
    )
    rows = _read(path)
    assert rows[0] == ESP_COLUMNS
    by_email = {row[0]: dict(zip(ESP_COLUMNS, row, strict=True)) for row in rows[1:]}
    audience = [m for m in members if m.id != gone]
    assert [row[0] for row in rows[1:]] == [m.email for m in audience]
    with read_session(baton.engine) as s:
        unsubscribed = set(s.exec(select(Contact.email).where(col(Contact.unsubscribed))))
    assert not unsubscribed & set(by_email)
    first, second = audience[0], audience[1]
    assert (by_email[first.email]["first_name"], by_email[first.email]["last_name"]) == (
        '\'=HYPERLINK("http://x.test","open")',
        "'@SUM(1)",
    )
    assert (by_email[second.email]["first_name"], by_email[second.email]["last_name"]) == (
        "'-2+3",
        "'+cmd|' /C calc'!A0",
    )
    assert not any(v.startswith(("=", "+", "-", "@")) for row in rows[1:] for v in row[1:3])
    # A phone number keeps its plus: it is digits, not a formula, and the ESP needs it.
    phones = [m.phone for m in audience if m.phone]
    assert phones and all(by_email[m.email]["phone"] == (m.phone or "") for m in audience)

    summary = card_props(done, role="admin")["result_summary"]
    assert f"Audience exported: {len(audience):,} contacts to {path}." in summary
    why = baton.explain(question="why export the audience as csv?", plan_id=plan.plan_id)
    assert why.action.action_id == launch.action_id
    assert why.focus is not None and why.focus.param == "export_csv"
    assert f"columns of the audience export: {', '.join(ESP_COLUMNS)}" in why.to_markdown()

    # A crash after the file was written but before the outcome was stored: the restart
    # runs the launch again and rewrites the same file, with the same rows.
    with write_session(baton.engine) as s:
        row = s.get(Action, launch.action_id)
        assert row is not None
        row.status, row.result = "executing", None
        s.add(row)
    restarted, _ = Baton.open(make_settings(home), today=TODAY)
    after = restarted.get_action(launch.action_id)
    restarted.engine.dispose()
    assert after.status == "succeeded" and after.result is not None
    assert after.result["export"] == export and after.result["queued"] == 0
    assert _read(path) == rows
    assert sorted(p.name for p in (home / "exports").iterdir()) == [path.name]


def test_a_launch_without_export_writes_no_file(baton: Baton, home: Path) -> None:
    plan = baton.plan_brief(WINBACK, actor="admin", today=TODAY)
    approve_all_pending(baton, plan.plan_id)
    launch = action_for(baton, plan.plan_id, "launch_campaign")
    assert launch.status == "succeeded" and launch.params["export_csv"] is False
    assert launch.result is not None and launch.result["export"] is None
    assert launch.result["queued"] > 0
    assert not (home / "exports").exists()
    summary = card_props(launch, role="admin")["result_summary"]
    assert summary is not None and "exported" not in summary
    assert "Export audience as CSV" not in _rows(card_props(launch, role="admin")["params"])
