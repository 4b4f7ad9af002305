"""Creative fatigue: does a creative's click rate fall each time the same person gets it again?

A creative is a campaign on a channel. For every one that reached someone more than once
in the lookback window, each send in the window is numbered per contact in time order
(exposure 1, 2, 3 ..., a window function over (contact, channel, campaign)), and a send
counts as clicked when the contact clicked that campaign before their next exposure to
it. The click rate per exposure number is then fitted with a log-linear model,
log(rate) = a + b * exposure, by weighted least squares with weights sends * p / (1 - p)
(the inverse of the binomial variance of log p), over the exposure numbers 1, 2, ... that
each have at least `min_sends` sends (the first one short of that ends the series; rates
are smoothed as (clicks + 0.5) / (sends + 1)).

decay per exposure = 1 - exp(b): the share of the click rate lost with each repeat.

A campaign is flagged as fatiguing when it has at least MIN_EXPOSURES such exposure
numbers, its decay per exposure is at least `min_decay` (8% by default), and the slope
is clearly negative: b / se(b) <= -MIN_Z, with se(b) = 1 / sqrt(sum w (x - mean_w x)^2).

Given an executed segment, only its members' sends count: how this audience takes repeats,
read through the members' rows of the (contact, event, time) index instead of the window;
past `max_contacts` members, an even sample of them (every k-th contact id) bounds the cost.
New copy reuses a creative when it carries the creative's theme: every word of the
campaign's name once the channel and the date are dropped ("email-trail-essentials" ->
"trail essentials").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import bindparam, text
from sqlmodel import Session

from db.dialect import count_where_sql, not_indexed, ordered_join, utc_text

MIN_DECAY = 0.08
"""Default: flag when each repeat loses at least 8% of the click rate."""
MIN_EXPOSURES = 3
"""Exposure numbers (each with at least min_sends sends) needed to fit a trend."""
MIN_Z = 1.96
"""The slope must be this many standard errors below zero."""
_NOT_THEME = frozenset({"email", "sms", "push", "social", "search", "display", "web", "mail"})
"""Channel words in campaign names: they say where a creative went, not what it says."""


class ExposureRate(BaseModel):
    """Clicks per send on a contact's n-th exposure to a campaign."""

    exposure: int
    """1 = the first time a contact got the campaign."""
    sends: int
    clicks: int
    """Sends that were clicked before the contact's next exposure."""
    click_rate: float


class CampaignFatigue(BaseModel):
    """One campaign's click rate by exposure number and its fitted decay."""

    channel: str
    campaign: str
    exposures: list[ExposureRate]
    """Every exposure number seen, including those below min_sends (not fitted)."""
    fitted_exposures: int
    """Exposure numbers 1..n used in the fit (each with at least min_sends sends)."""
    slope: float | None
    """b in log(click rate) = a + b * exposure; None without enough exposures."""
    slope_se: float | None
    slope_z: float | None
    """slope / slope_se, how clear the trend is: fatiguing needs at most -MIN_Z."""
    fitted_sends: int
    """Sends over the fitted exposure numbers."""
    decay_per_exposure: float | None
    """1 - exp(slope): share of the click rate lost with each repeat."""
    fatiguing: bool
    sentence: str


class FatigueReport(BaseModel):
    """Creative fatigue across the campaigns re-sent to the same people."""

    now: datetime
    lookback_days: int
    min_sends: int
    min_decay: float
    campaigns: list[CampaignFatigue]
    """Campaigns with repeat sends in the window; fatiguing ones first, then by decay."""
    flagged: list[str]
    """Names of the fatiguing campaigns."""
    sentences: list[str]
    """One sentence per flagged campaign."""
    detail: str
    contacts: int | None = None
    """Members of the segment measured; None: every contact of the workspace."""
    contacts_measured: int | None = None
    """Of those, the ones whose sends were read (fewer when the segment was sampled)."""


def creative_fatigue(
    session: Session,
    *,
    now: datetime,
    lookback_days: int = 120,
    min_sends: int = 200,
    min_decay: float = MIN_DECAY,
    segment_action_id: str | None = None,
    channels: Sequence[str] | None = None,
    max_contacts: int | None = None,
) -> FatigueReport:
    """Find creatives whose click rate decays with repeated exposure (see the module docstring).

    A campaign is examined when some contact got it more than once in the `lookback_days`
    before `now`; its sends in that window are numbered per contact. `segment_action_id`
    keeps the members of that executed segment (every k-th by id, when there are more than
    `max_contacts`), `channels` those channels' campaigns.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    if min_sends < 1:
        raise ValueError("min_sends must be at least 1")
    if not 0 < min_decay < 1:
        raise ValueError("min_decay must be between 0 and 1")
    if max_contacts is not None and max_contacts < 1:
        raise ValueError("max_contacts must be at least 1")
    params: dict[str, object] = {
        "start": utc_text(now - timedelta(days=lookback_days)),
        "now": utc_text(now),
    }
    # NOT INDEXED for the whole workspace: the window is a large share of the table, and a
    # sequential scan reads it far faster than the (event, occurred_at) index followed by
    # one table lookup per row. A segment is read member by member (`ordered_join` keeps
    # that order) through the (contact_id, event, occurred_at) index.
    source = not_indexed("event", "e")
    contacts: tuple[int, int] | None = None
    if segment_action_id is not None:
        stride, contacts = _sample(session, segment_action_id, max_contacts)
        source = (
            "(SELECT contact_id FROM (SELECT contact_id, row_number() OVER (ORDER BY contact_id)"
            " AS n FROM segmentmember WHERE action_id = :segment) WHERE n % :stride = 0) m "
            f"{ordered_join()} event e ON e.contact_id = m.contact_id"
        )
        params.update(segment=segment_action_id, stride=stride)
    channel_filter = ""
    if channels is not None:
        channel_filter = "AND e.channel IN :channels"
        params["channels"] = list(channels)
    # One pass over the window's sends and clicks, sorted per (contact, channel, campaign)
    # by time, sends before clicks at the same instant: the running count of sends is the
    # exposure number (ROW_NUMBER over that contact's sends of the campaign), and a click
    # whose previous row is a send is the first click on that exposure. The frame is ROWS:
    # the rows are distinct in that order, and a RANGE frame (the default) looks for peers
    # row by row (at 200k contacts, some 40% of this query).
    query = text(f"""
            WITH window_events AS (
                SELECT e.id, e.contact_id, e.channel, e.campaign, e.event, e.occurred_at
                FROM {source}
                WHERE e.event IN ('send', 'click') AND e.occurred_at >= :start
                    AND e.occurred_at < :now AND e.campaign != '' {channel_filter}
            ),
            repeated AS (
                SELECT channel, campaign FROM window_events WHERE event = 'send'
                GROUP BY channel, campaign HAVING count(*) > count(DISTINCT contact_id)
            ),
            numbered AS (
                SELECT w.channel, w.campaign, w.event,
                    {count_where_sql("w.event = 'send'")} OVER per_contact AS exposure,
                    lag(w.event) OVER per_contact AS previous
                FROM window_events w
                JOIN repeated r ON r.channel = w.channel AND r.campaign = w.campaign
                WINDOW per_contact AS (
                    PARTITION BY w.contact_id, w.channel, w.campaign
                    ORDER BY w.occurred_at, w.event = 'click', w.id
                    ROWS UNBOUNDED PRECEDING
                )
            )
            SELECT channel, campaign, exposure, {count_where_sql("event = 'send'")} AS sends,
                {count_where_sql("event = 'click' AND previous = 'send'")} AS clicks
            FROM numbered
            WHERE exposure > 0
            GROUP BY channel, campaign, exposure
            ORDER BY channel, campaign, exposure
            """)
    if channels is not None:
        query = query.bindparams(bindparam("channels", expanding=True))
    rows = session.connection().execute(query, params).all()
    grouped: dict[tuple[str, str], list[ExposureRate]] = {}
    for row in rows:
        grouped.setdefault((row.channel, row.campaign), []).append(
            ExposureRate(
                exposure=row.exposure,
                sends=row.sends,
                clicks=row.clicks,
                click_rate=round(row.clicks / row.sends, 4),
            )
        )
    campaigns = [
        _assess(channel, campaign, rates, min_sends=min_sends, min_decay=min_decay)
        for (channel, campaign), rates in grouped.items()
    ]
    campaigns.sort(
        key=lambda c: (
            not c.fatiguing,
            -(c.decay_per_exposure if c.decay_per_exposure is not None else -math.inf),
            c.channel,
            c.campaign,
        )
    )
    flagged = [c for c in campaigns if c.fatiguing]
    if flagged:
        names = ", ".join(c.campaign for c in flagged)
        detail = (
            f"{len(flagged)} of {len(campaigns)} repeated campaigns "
            f"{'is' if len(flagged) == 1 else 'are'} fatiguing: {names}."
        )
    elif campaigns:
        detail = f"None of the {len(campaigns)} repeated campaigns shows click-rate fatigue."
    else:
        detail = f"No campaign reached anyone twice in the last {lookback_days} days."
    return FatigueReport(
        now=now,
        lookback_days=lookback_days,
        min_sends=min_sends,
        min_decay=min_decay,
        campaigns=campaigns,
        flagged=[c.campaign for c in flagged],
        sentences=[c.sentence for c in flagged],
        detail=detail,
        contacts=contacts[0] if contacts else None,
        contacts_measured=contacts[1] if contacts else None,
    )


def _sample(
    session: Session, segment_action_id: str, max_contacts: int | None
) -> tuple[int, tuple[int, int]]:
    """The k that keeps every k-th member by id, at most `max_contacts` of them, and
    (members, members kept)."""
    members = (
        session.connection()
        .execute(
            text("SELECT count(*) FROM segmentmember WHERE action_id = :segment"),
            {"segment": segment_action_id},
        )
        .scalar_one()
    )
    if max_contacts is None or members <= max_contacts:
        return 1, (members, members)
    stride = math.ceil(members / max_contacts)
    return stride, (members, members // stride)


def fit_decay(rates: list[ExposureRate]) -> tuple[float, float] | None:
    """(slope, standard error) of the weighted log-linear fit; None for fewer than 2 points."""
    if len(rates) < 2:
        return None
    xs, ys, ws = [], [], []
    for r in rates:
        p = (r.clicks + 0.5) / (r.sends + 1)
        xs.append(float(r.exposure))
        ys.append(math.log(p))
        ws.append(r.sends * p / (1 - p))
    total = sum(ws)
    x_mean = sum(w * x for w, x in zip(ws, xs, strict=True)) / total
    y_mean = sum(w * y for w, y in zip(ws, ys, strict=True)) / total
    sxx = sum(w * (x - x_mean) ** 2 for w, x in zip(ws, xs, strict=True))
    if sxx <= 0:
        return None
    sxy = sum(w * (x - x_mean) * (y - y_mean) for w, x, y in zip(ws, xs, ys, strict=True))
    return sxy / sxx, 1 / math.sqrt(sxx)


def _assess(
    channel: str, campaign: str, rates: list[ExposureRate], *, min_sends: int, min_decay: float
) -> CampaignFatigue:
    fitted: list[ExposureRate] = []
    for expected, rate in enumerate(rates, start=1):
        if rate.exposure != expected or rate.sends < min_sends:
            break
        fitted.append(rate)
    fit = fit_decay(fitted) if len(fitted) >= MIN_EXPOSURES else None
    if fit is None:
        return CampaignFatigue(
            channel=channel,
            campaign=campaign,
            exposures=rates,
            fitted_exposures=len(fitted),
            slope=None,
            slope_se=None,
            slope_z=None,
            fitted_sends=sum(r.sends for r in fitted),
            decay_per_exposure=None,
            fatiguing=False,
            sentence=(
                f"{campaign} has {len(fitted)} exposure number(s) with at least {min_sends} "
                f"sends; {MIN_EXPOSURES} are needed to measure fatigue."
            ),
        )
    slope, se = fit
    decay = 1 - math.exp(slope)
    fatiguing = decay >= min_decay and slope / se <= -MIN_Z
    first, last = fitted[0], fitted[-1]
    trend = (
        f"{first.click_rate:.1%} on the first send to {last.click_rate:.1%} on the "
        f"{_ordinal(last.exposure)} ({sum(r.sends for r in fitted):,} sends)"
    )
    if fatiguing:
        sentence = (
            f"{campaign} ({channel}) is fatiguing: its click rate falls about {decay:.0%} with "
            f"each repeat, from {trend}; rest it or refresh the creative."
        )
    elif decay >= min_decay:
        sentence = (
            f"{campaign} ({channel}) may be fatiguing (about {decay:.0%} lower click rate per "
            f"repeat, from {trend}) but the sample is too small to be sure."
        )
    elif decay > 0:
        sentence = (
            f"{campaign} ({channel}) holds up: about {decay:.0%} lower click rate per repeat, "
            f"from {trend}."
        )
    else:
        sentence = f"{campaign} ({channel}) shows no fatigue: click rate goes from {trend}."
    return CampaignFatigue(
        channel=channel,
        campaign=campaign,
        exposures=rates,
        fitted_exposures=len(fitted),
        slope=round(slope, 6),
        slope_se=round(se, 6),
        slope_z=round(slope / se, 2),
        fitted_sends=sum(r.sends for r in fitted),
        decay_per_exposure=round(decay, 4),
        fatiguing=fatiguing,
        sentence=sentence,
    )


def creative_theme(campaign: str) -> tuple[str, ...]:
    """What a campaign's name says it is about: its words without channel names and numbers."""
    words = re.findall(r"[a-z0-9]+", campaign.lower())
    return tuple(w for w in words if not w.isdigit() and w not in _NOT_THEME)


def reused_creative(text: str, campaigns: Sequence[str]) -> str | None:
    """The first of the campaigns whose whole theme the text carries (any case or number)."""
    said = {_singular(w) for w in re.findall(r"[a-z0-9]+", text.lower())}
    for campaign in campaigns:
        theme = creative_theme(campaign)
        if theme and all(_singular(w) in said for w in theme):
            return campaign
    return None


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
