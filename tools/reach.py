"""Reach: how many contacts a segment reaches per channel after suppression."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from tools.audience import (
    CHANNEL_LABELS,
    SegmentResult,
    SegmentRules,
    build_segment,
    describe_rules,
)


class ChannelReach(BaseModel):
    """Contacts a segment reaches on one channel."""

    channel: str
    reachable: int
    share: float
    """reachable / the segment's size after suppression (0 when the segment is empty)."""


class ReachEstimate(BaseModel):
    """How many people a segment reaches, per channel and in all."""

    description: str
    matched: int
    """Contacts matching the rules, before suppression."""
    size: int
    """Contacts reachable on at least one requested channel after suppression."""
    suppressed: dict[str, int]
    channels: list[ChannelReach]
    detail: str


def estimate_reach(session: Session, rules: SegmentRules, *, now: datetime) -> ReachEstimate:
    """Reach per requested channel after consent, bounce, unsubscribe and frequency cap."""
    return reach_of(build_segment(session, rules, now=now), rules)


def reach_of(segment: SegmentResult, rules: SegmentRules) -> ReachEstimate:
    """The reach of a segment already counted: per channel, and its share of the recipients."""
    channels = [
        ChannelReach(
            channel=channel,
            reachable=reachable,
            share=round(reachable / segment.size, 4) if segment.size else 0.0,
        )
        for channel, reachable in segment.by_channel.items()
    ]
    per_channel = ", ".join(f"{c.reachable:,} by {CHANNEL_LABELS[c.channel]}" for c in channels)
    left_out = segment.matched - segment.size
    return ReachEstimate(
        description=describe_rules(rules),
        matched=segment.matched,
        size=segment.size,
        suppressed=segment.suppressed,
        channels=channels,
        detail=(
            f"{segment.size:,} of {segment.matched:,} matching contacts can be reached "
            f"({per_channel}); {left_out:,} are suppressed."
        ),
    )
