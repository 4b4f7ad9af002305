"""db/rows.py builds the same objects as the models' constructors and the ORM's loads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, select

from db.engine import make_engine, write_session
from db.execution_models import Execution
from db.models import Action, ActionRevision, AuditEvent, Decision, Plan
from db.rows import loaded_row, new_row, persistent_row, persistent_rows, select_rows

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)

CASES: list[tuple[type[SQLModel], dict[str, Any]]] = [
    (
        Action,
        dict(id="act_1", plan_id="plan_1", step_id="step_1", agent="audience",
             tool="build_segment", title="Segment", params={"a": 1}, params_hash="h",
             risk="internal", editable=["a"], created_at=NOW, updated_at=NOW),
    ),
    (
        ActionRevision,
        dict(action_id="act_1", revision=1, params={"a": 1}, params_hash="h",
             evidence={}, policy_checks=[], author="orchestrator", created_at=NOW),
    ),
    (
        Decision,
        dict(action_id="act_1", revision=1, verdict="approve", actor="admin", role="admin",
             changes={}, policy_hash="p", created_at=NOW),
    ),
    (
        Execution,
        dict(idempotency_key="act_1:1", action_id="act_1", revision=1, params_hash="h",
             status="succeeded", result={"done": True}, started_at=NOW, finished_at=NOW),
    ),
    (
        AuditEvent,
        dict(at=NOW, actor="admin", kind="action.approved", entity="action",
             entity_id="act_1", data={"revision": 1}, prev_hash="0" * 64, hash="1" * 64),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("model", "values"), CASES, ids=[m.__name__ for m, _ in CASES])
def test_new_row_is_the_constructors_object(model: type[SQLModel], values: dict[str, Any]) -> None:
    built, constructed = new_row(model, **values), model(**values)
    assert repr(built) == repr(constructed)
    assert built.model_dump() == constructed.model_dump()
    assert built.model_fields_set == constructed.model_fields_set
    assert list(built.__dict__) == list(constructed.__dict__)


def test_new_row_fills_fresh_defaults_and_refuses_a_missing_field() -> None:
    first, second = (new_row(Action, **CASES[0][1]) for _ in range(2))
    assert first.evidence == {} and first.evidence is not second.evidence
    with pytest.raises(TypeError, match="params_hash"):
        new_row(Action, id="act_2")


def _plan(plan_id: str) -> Plan:
    return Plan(id=plan_id, brief="b", planner="offline", today=date(2026, 11, 21),
                created_by="admin", created_at=NOW)  # fmt: skip


def test_persistent_rows_are_the_sessions_objects_and_their_changes_are_written(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    SQLModel.metadata.create_all(engine, tables=[Plan.__table__])  # type: ignore[attr-defined]
    with write_session(engine) as session:
        session.add_all([_plan("plan_1"), _plan("plan_2")])
    with write_session(engine) as session:
        held = session.get(Plan, "plan_1")
        rows = persistent_rows(session, Plan, select_rows(Plan).order_by(Plan.id))  # type: ignore[arg-type]
        assert rows[0] is held, "the object the session already holds, as a query gives it"
        assert rows[1] in session and rows[1] not in session.dirty
        assert rows[1].model_dump() == _plan("plan_2").model_dump()
        rows[1].version = 2
    with Session(engine) as session:
        assert session.exec(select(Plan.version).where(Plan.id == "plan_2")).one() == 2


def test_a_loaded_row_is_a_copy_apart_from_any_session() -> None:
    values = _plan("plan_3").model_dump()
    row = loaded_row(Plan, values)
    assert row.model_dump() == values
    session = Session()
    attached = persistent_row(session, Plan, values)
    assert attached is not row and attached in session and row not in session
