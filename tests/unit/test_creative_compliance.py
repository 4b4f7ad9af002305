"""Drafts in the brand's voice, the brand check, and the content and audience compliance checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.engine import read_session, write_session
from db.workspace_models import BrandProfile
from tests.support.workspace import new_engine
from tools.audience import SegmentResult
from tools.compliance import ContentRules, check_audience, check_content
from tools.creative import TEMPLATES, BrandSnapshot, Copy, brand_check, draft_copy

BRAND = BrandSnapshot(
    name="Northwind Outfitters",
    voice="Warm, practical and outdoorsy.",
    sender_name="Maya at Northwind",
    tagline="Gear that goes the distance.",
    banned_phrases=["guaranteed", "risk-free", "miracle", "act now", "cure"],
    required_disclaimers=["You are receiving this because you opted in to Northwind updates."],
)
RULES = ContentRules(
    banned_phrases=BRAND.banned_phrases,
    required_disclaimers=BRAND.required_disclaimers,
    require_unsubscribe=True,
    legal_review_topics=["financing", "sweepstakes", "clinically proven"],
)
PLAYBOOKS = [*TEMPLATES, "budget_review", "something_new"]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
@pytest.mark.parametrize("offer", [None, "20% off your next order"])
def test_every_draft_passes_the_brand_and_compliance(playbook: str, offer: str | None) -> None:
    for variant in ("A", "B"):
        copy = draft_copy(
            brand=BRAND,
            playbook=playbook,
            audience="customers who lapsed 90 days ago",
            offer=offer,
            channels=["email", "sms"],
            variant=variant,
        )
        assert copy.variant == variant
        assert "Maya at Northwind" in copy.body
        assert copy.body.endswith(
            "You are receiving this because you opted in to Northwind updates.\n"
            "Unsubscribe: {{unsubscribe_url}}"
        )
        assert len(copy.sms_text) <= 160
        assert copy.sms_text.endswith("Reply STOP to opt out.")
        if offer:
            assert offer in copy.body
        for text in (copy.subject, copy.preheader, copy.body, copy.sms_text):
            assert brand_check(text, brand=BRAND) == []
        review = check_content(copy, RULES, channels=["email", "sms"])
        assert review.passed, review.checks
        assert not review.needs_legal_review


def test_variants_differ_in_subject_only() -> None:
    a = draft_copy(
        brand=BRAND, playbook="winback", audience="", offer=None, channels=["email"], variant="A"
    )
    b = draft_copy(
        brand=BRAND, playbook="winback", audience="", offer=None, channels=["email"], variant="B"
    )
    assert a.subject != b.subject
    assert a.body == b.body


def test_long_offer_still_fits_an_sms() -> None:
    offer = "free shipping and a free trail-care kit with every order over fifty dollars " * 3
    copy = draft_copy(brand=BRAND, playbook="promotion", audience="", offer=offer, channels=["sms"])
    assert len(copy.sms_text) <= 160
    assert copy.sms_text.endswith("Reply STOP to opt out.")


def test_brand_check_finds_banned_phrases_shouting_and_exclamations() -> None:
    issues = brand_check("Act  now: a GUARANTEED deal on FREE gear!!", brand=BRAND)
    by_rule = {issue.rule: issue.detail for issue in issues}
    assert [i.rule for i in issues] == ["banned_phrase", "banned_phrase", "shouting", "exclamation"]
    assert '"GUARANTEED"' in by_rule["shouting"] and '"FREE"' in by_rule["shouting"]
    assert "2 exclamation marks" in by_rule["exclamation"]


def test_brand_check_spares_whole_words_acronyms_and_one_exclamation() -> None:
    text = "Our cured-leather boots are back! Reply STOP to opt out. RSVP by Friday. Secured."
    assert brand_check(text, brand=BRAND) == []
    # "cure" inside "cured" or "secured" is not the banned word; "cure" alone is.
    assert [i.rule for i in brand_check("A cure for cold feet", brand=BRAND)] == ["banned_phrase"]


def test_check_content_reports_each_failure() -> None:
    bad = Copy(
        subject="A miracle jacket",
        preheader="",
        body="Hi there, 0% financing available.",
        sms_text="Northwind: new jackets are in.",
        variant="A",
    )
    review = check_content(bad, RULES, channels=["email", "sms"])
    results = {check.rule: check for check in review.checks}
    assert not results["banned_phrases"].passed
    assert '"miracle" in subject' in results["banned_phrases"].detail
    assert not results["unsubscribe_link"].passed
    assert not results["required_disclaimers"].passed
    assert not results["sms_opt_out"].passed
    assert results["sms_length"].passed
    assert not review.passed
    assert review.needs_legal_review and review.legal_topics == ["financing"]


def test_check_content_only_checks_the_channels_in_use() -> None:
    email_only = Copy(subject="Hello", preheader="", body="Hello", sms_text="", variant="A")
    rules = {check.rule for check in check_content(email_only, RULES, channels=["sms"]).checks}
    assert rules == {"banned_phrases", "sms_opt_out", "sms_length"}
    no_unsubscribe_needed = ContentRules(require_unsubscribe=False)
    review = check_content(email_only, no_unsubscribe_needed, channels=["email"])
    assert [check.rule for check in review.checks] == ["banned_phrases", "required_disclaimers"]
    assert review.passed


def test_check_audience_states_counts_and_limits() -> None:
    segment = SegmentResult(
        matched=120,
        size=100,
        suppressed={"unsubscribed": 7, "bounced": 3, "no_consent": 6, "frequency_cap": 4},
        by_channel={"email": 90, "sms": 40},
    )
    checks = {
        c.rule: c for c in check_audience(segment, channels=["email", "sms"], max_audience=50)
    }
    assert checks["consent"].passed and "6 without consent" in checks["consent"].detail
    assert "email 90, sms 40" in checks["consent"].detail
    assert checks["unsubscribed_excluded"].passed and "7" in checks["unsubscribed_excluded"].detail
    assert checks["audience_not_empty"].passed
    assert not checks["audience_size_limit"].passed
    empty = segment.model_copy(update={"size": 0})
    checks = {c.rule: c for c in check_audience(empty, channels=["email"], max_audience=None)}
    assert not checks["audience_not_empty"].passed
    assert "audience_size_limit" not in checks


def test_brand_snapshot_loads_the_profile(tmp_path: Path) -> None:
    engine = new_engine(tmp_path)
    with read_session(engine) as session, pytest.raises(LookupError):
        BrandSnapshot.load(session)
    with write_session(engine) as session:
        session.add(
            BrandProfile(
                name="Northwind Outfitters",
                voice="Warm.",
                sender_name="Maya",
                banned_phrases=["act now"],
                required_disclaimers=["Opted in."],
            )
        )
    with read_session(engine) as session:
        brand = BrandSnapshot.load(session)
    assert (brand.name, brand.sender_name, brand.banned_phrases) == (
        "Northwind Outfitters",
        "Maya",
        ["act now"],
    )
    assert brand.required_disclaimers == ["Opted in."]
    engine.dispose()
