"""The workspace's A/B tests: which have finished, and their readouts (kept per data version)."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from db.workspace import workspace_version
from tools.derived_cache import DerivedCache
from tools.experiment import Metric, Readout, variant_readout
from workspace.rollups import rollup_connection

SETTLE_DAYS = 7
"""Days after a test's last send before it counts as finished: its clicks have come in."""
CACHED_READOUTS = 32


class AbTest(BaseModel):
    """A campaign sent as two labelled variants on one channel."""

    campaign: str
    channel: str
    variants: list[str]
    """The variant labels, in name order (the first is the control)."""
    first_send: date
    last_send: date
    """UTC days of its first and last send."""
    sends: int


def finished_ab_tests(
    session: Session, *, today: date, settle_days: int = SETTLE_DAYS
) -> list[AbTest]:
    """Two-variant tests whose last send is at least `settle_days` before today.

    Read from the daily KPI rollup. Newest first: the latest last send, then the larger
    test (more sends), then the campaign name.
    """
    if settle_days < 0:
        raise ValueError("settle_days must not be negative")
    with rollup_connection(session) as conn:
        rows = conn.execute(
            text(
                "SELECT campaign, channel, variant, min(day) AS first, max(day) AS last, "
                "sum(sends) AS sends FROM rollup_kpi_day WHERE variant != '' AND sends > 0 "
                "GROUP BY campaign, channel, variant ORDER BY campaign, channel, variant"
            )
        ).all()
    grouped: dict[tuple[str, str], list[tuple[str, date, date, int]]] = {}
    for row in rows:
        grouped.setdefault((row.campaign, row.channel), []).append(
            (row.variant, _day(row.first), _day(row.last), int(row.sends))
        )
    cutoff = today - timedelta(days=settle_days)
    tests = [
        AbTest(
            campaign=campaign,
            channel=channel,
            variants=[v[0] for v in variants],
            first_send=min(v[1] for v in variants),
            last_send=max(v[2] for v in variants),
            sends=sum(v[3] for v in variants),
        )
        for (campaign, channel), variants in grouped.items()
        if len(variants) == 2 and max(v[2] for v in variants) <= cutoff
    ]
    tests.sort(key=lambda t: t.campaign)
    tests.sort(key=lambda t: (t.last_send, t.sends), reverse=True)
    return tests


def ab_test_readout(
    session: Session, *, campaign: str, channel: str, metric: Metric, alpha: float
) -> Readout:
    """`variant_readout` of one test; a repeat on unchanged data is answered from memory.

    The readout scans the events once; the key holds the workspace's data version, which
    every write of contacts or events changes, so a changed workspace is read afresh.
    """
    version = workspace_version(session)
    key = (str(session.connection().engine.url), version, campaign, channel, metric, alpha)
    cached = _READOUTS.get(key) if version else None
    if cached is not None:
        return cached.model_copy(deep=True)
    readout = variant_readout(
        session, campaign=campaign, channel=channel, metric=metric, alpha=alpha
    )
    if version:
        _READOUTS.put(key, readout)
    return readout.model_copy(deep=True)


def clear_readout_cache() -> None:
    """Forget every remembered readout (benchmarks use it to measure cold calls)."""
    _READOUTS.clear()


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_READOUTS: DerivedCache[Readout] = DerivedCache(CACHED_READOUTS)
