"""Who a segment's recipients are: RFM tiers, churn-risk bands and reach, per classified segment."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from pydantic import BaseModel

from tools.audience import ClassifiedSegment, SegmentResult, SegmentRules
from tools.churn import ChurnBands, churn_bands
from tools.reach import reach_of
from tools.rfm import rfm_tier_counts
from workspace.rollups import rollup_state


class SegmentTiers(BaseModel):
    """The recipients by RFM segment and by churn-risk band."""

    rfm_tiers: dict[str, int]
    """Recipients per RFM segment that has any, in report order; they add up to the size."""
    churn_risk: ChurnBands
    """Recipients per churn-risk band; those who never purchased are not scored."""


class SegmentProfile(SegmentResult):
    """A segment's counts, with how its recipients can be reached and who they are."""

    reach_share: dict[str, float]
    """Share of the recipients each requested channel reaches (0-1)."""
    rfm_tiers: dict[str, int]
    """Recipients per RFM segment that has any, in report order; they add up to `size`."""
    churn_risk: ChurnBands
    """Recipients per churn-risk band; with the "never purchased" tier they add up to `size`."""


def profile_of(segment: ClassifiedSegment, rules: SegmentRules, *, now: datetime) -> SegmentProfile:
    """The profile of a classified segment: reach from its counts, tiers from its recipients.

    The tiers cost one lookup per recipient. They are kept per (database, workspace
    version, now, rules), which fix the recipients, so executing a segment just proposed
    on unchanged data does not score its recipients again.
    """
    reach = reach_of(segment.result, rules)
    tiers = _tiers(segment, rules, now=now)
    return SegmentProfile(
        **segment.result.model_dump(),
        reach_share={c.channel: c.share for c in reach.channels},
        rfm_tiers=tiers.rfm_tiers,
        churn_risk=tiers.churn_risk,
    )


_TIERS: OrderedDict[tuple[str, str, str, str], SegmentTiers] = OrderedDict()
_TIERS_LOCK = threading.Lock()
_TIERS_KEPT = 16


def _tiers(segment: ClassifiedSegment, rules: SegmentRules, *, now: datetime) -> SegmentTiers:
    version = rollup_state(segment.conn).workspace_version
    key = (str(segment.conn.engine.url), version, now.isoformat(), rules.model_dump_json())
    with _TIERS_LOCK:
        known = _TIERS.get(key) if version else None
    if known is not None:
        return known.model_copy(deep=True)
    counts = rfm_tier_counts(segment.conn, segment.members)
    tiers = SegmentTiers(
        rfm_tiers={label: n for label, n in counts.items() if n},
        churn_risk=churn_bands(segment.conn, segment.members, now=now),
    )
    if version:
        with _TIERS_LOCK:
            _TIERS[key] = tiers
            while len(_TIERS) > _TIERS_KEPT:
                _TIERS.popitem(last=False)
    return tiers.model_copy(deep=True)
