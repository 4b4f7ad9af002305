"""Copy: drafts per playbook in the brand's voice, and a check of text against the brand rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from db.workspace_models import BrandProfile

SMS_LIMIT = 160
SMS_OPT_OUT = "Reply STOP to opt out."
UNSUBSCRIBE_LINE = "Unsubscribe: {{unsubscribe_url}}"
_ACRONYMS = "STOP HELP INFO RSVP FAQS HTML HTTP HTTPS JSON USPS NASA GDPR CCPA CASL HIPAA NYSE AMEX"
KNOWN_ACRONYMS = frozenset(_ACRONYMS.split())
"""All-caps words that are names, not shouting."""


class BrandSnapshot(BaseModel):
    """The parts of the brand profile copy needs."""

    name: str
    voice: str
    sender_name: str
    tagline: str = ""
    banned_phrases: list[str] = Field(default_factory=list)
    required_disclaimers: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, session: Session) -> BrandSnapshot:
        """Read the workspace's brand profile; LookupError if there is none."""
        profile = session.exec(select(BrandProfile).order_by(col(BrandProfile.id))).first()
        if profile is None:
            raise LookupError("this workspace has no brand profile")
        return cls(
            name=profile.name,
            voice=profile.voice,
            sender_name=profile.sender_name,
            tagline=profile.tagline,
            banned_phrases=list(profile.banned_phrases),
            required_disclaimers=list(profile.required_disclaimers),
        )


class Copy(BaseModel):
    """One variant of campaign copy for every messaging channel."""

    subject: str
    preheader: str
    body: str
    """Email body (plain text with {{placeholders}}), ending in disclaimers and unsubscribe."""
    sms_text: str
    """At most 160 characters, ending in the opt-out line."""
    variant: str = "A"
    notes: str = ""
    """For the marketer, not the recipient: playbook, audience and channels drafted for."""


class BrandIssue(BaseModel):
    """Something in a text that breaks the brand's rules."""

    rule: str
    """banned_phrase, shouting or exclamation."""
    detail: str


@dataclass(frozen=True)
class _Template:
    subjects: tuple[str, str]
    """Variant A and variant B."""
    preheader: str
    opening: str
    with_offer: str
    without_offer: str
    call_to_action: str
    sms: str


TEMPLATES: dict[str, _Template] = {
    "winback": _Template(
        subjects=("We saved your spot, {first_name}", "It has been a while. Here is what's new"),
        preheader="A few things changed at {brand} since your last order.",
        opening="It has been a while since your last order, and we have been busy.",
        with_offer="To welcome you back: {offer}.",
        without_offer="New gear has landed, and we think you'll like it.",
        call_to_action="See what's new: {{shop_url}}",
        sms="{brand}: we miss you. {offer_short}See what's new: {{link}}",
    ),
    "launch": _Template(
        subjects=("Meet the newest from {brand}", "Just landed: something new from {brand}"),
        preheader="Designed, tested and ready for your next trip.",
        opening="Something new just landed, and it was made with trips like yours in mind.",
        with_offer="For launch week only: {offer}.",
        without_offer="Be among the first to try it.",
        call_to_action="Take a look: {{shop_url}}",
        sms="{brand}: something new just landed. {offer_short}Take a look: {{link}}",
    ),
    "promotion": _Template(
        subjects=("{offer_title}: a good time to gear up", "A little something for you"),
        preheader="A limited-time offer on the gear you use most.",
        opening="Here is a good moment to stock up on the gear you use most.",
        with_offer="For a limited time: {offer}.",
        without_offer="Our seasonal offer is live for a limited time.",
        call_to_action="Shop the offer: {{shop_url}}",
        sms="{brand}: {offer_short}Our favorites are on offer for a limited time. Shop: {{link}}",
    ),
    "newsletter": _Template(
        subjects=("This month at {brand}", "Trail notes from {brand}"),
        preheader="Stories, tips and new arrivals from the team.",
        opening="Here is what the team has been up to this month.",
        with_offer="Also this month: {offer}.",
        without_offer="Tips from the trail, a few new arrivals and one gear-care trick.",
        call_to_action="Read more: {{content_url}}",
        sms="{brand}: this month's trail notes are out. {offer_short}Read: {{link}}",
    ),
    "event_followup": _Template(
        subjects=("Thanks for joining us, {first_name}", "Good to see you there"),
        preheader="The highlights, and what comes next.",
        opening="Thank you for spending time with us. It was good to meet you.",
        with_offer="As a thank-you: {offer}.",
        without_offer="We put the highlights and the resources we mentioned in one place.",
        call_to_action="Get the highlights: {{content_url}}",
        sms="{brand}: thanks for joining us. {offer_short}Highlights: {{link}}",
    ),
    "lead_nurture": _Template(
        subjects=("Getting started with {brand}", "A few tips for your first trip"),
        preheader="Practical advice from people who have been there.",
        opening="Thanks for signing up. Here are a few tips we wish we had known sooner.",
        with_offer="For your first order: {offer}.",
        without_offer="When you are ready, we are here to help you pick the right gear.",
        call_to_action="Start here: {{content_url}}",
        sms="{brand}: tips for your first trip are ready. {offer_short}Read: {{link}}",
    ),
    "ab_test": _Template(
        subjects=("Picked for you, {first_name}", "Your next favorite piece of gear"),
        preheader="A few picks we think you'll like.",
        opening="We picked a few things we think you will like.",
        with_offer="Just for you: {offer}.",
        without_offer="Each one is tested on real trails by our team.",
        call_to_action="See your picks: {{shop_url}}",
        sms="{brand}: a few picks for you. {offer_short}See them: {{link}}",
    ),
    "content_review": _Template(
        subjects=("An update from {brand}", "News from {brand}"),
        preheader="A short update from the team.",
        opening="A short update from the team.",
        with_offer="Included: {offer}.",
        without_offer="Thanks for being part of the community.",
        call_to_action="Read more: {{content_url}}",
        sms="{brand}: a short update from the team. {offer_short}Read: {{link}}",
    ),
    "default": _Template(
        subjects=("News from {brand}", "Something for your next trip"),
        preheader="A short note from the team.",
        opening="We have something we think you will like.",
        with_offer="Just for you: {offer}.",
        without_offer="Take a look when you have a minute.",
        call_to_action="Take a look: {{shop_url}}",
        sms="{brand}: something for your next trip. {offer_short}Look: {{link}}",
    ),
}


def draft_copy(
    *,
    brand: BrandSnapshot,
    playbook: str,
    audience: str,
    offer: str | None,
    channels: list[str],
    variant: str = "A",
) -> Copy:
    """Draft subject, preheader, email body and SMS for a playbook from fixed templates.

    Variant "A" uses the first subject line and every other variant the second. The
    email body is signed by the brand's sender and always ends with the required
    disclaimers and the unsubscribe line; the SMS fits 160 characters with the opt-out.
    """
    template = TEMPLATES.get(playbook, TEMPLATES["default"])
    offer = (offer or "").strip() or None
    values = {
        "brand": brand.name,
        "first_name": "{{first_name}}",
        "offer": offer or "",
        "offer_title": (offer[:1].upper() + offer[1:]) if offer else "A limited-time offer",
    }
    subject_index = 0 if variant.upper() == "A" else 1
    subject = _fill(template.subjects[subject_index], values)
    if "{offer_title}" in template.subjects[subject_index] and not offer:
        subject = _fill(template.subjects[1], values)
    middle = _fill(template.with_offer if offer else template.without_offer, values)
    signature = [f"{brand.sender_name}", brand.tagline] if brand.tagline else [brand.sender_name]
    body_lines = [
        "Hi {{first_name}},",
        "",
        f"{_fill(template.opening, values)} {middle}",
        "",
        _fill(template.call_to_action, values),
        "",
        *signature,
        "",
        *brand.required_disclaimers,
        UNSUBSCRIBE_LINE,
    ]
    notes = (
        f"Playbook {playbook} for {audience or 'the selected audience'}; "
        f"channels: {', '.join(channels) or 'none'}; voice: {brand.voice}"
    )
    return Copy(
        subject=subject,
        preheader=_fill(template.preheader, values),
        body="\n".join(body_lines),
        sms_text=_sms(template.sms, values, offer),
        variant=variant,
        notes=notes,
    )


def brand_check(text: str, *, brand: BrandSnapshot) -> list[BrandIssue]:
    """Banned phrases (whole phrase, any case), all-caps shouting and more than one '!'."""
    issues = [
        BrandIssue(rule="banned_phrase", detail=f'uses the banned phrase "{phrase}"')
        for phrase in banned_phrases_in(text, brand.banned_phrases)
    ]
    brand_words = set(re.findall(r"[A-Z]{4,}", brand.name))
    shouted = [
        word
        for word in dict.fromkeys(re.findall(r"\b[A-Z]{4,}\b", text))
        if word not in KNOWN_ACRONYMS and word not in brand_words
    ]
    if shouted:
        words = ", ".join(f'"{word}"' for word in shouted)
        issues.append(
            BrandIssue(rule="shouting", detail=f"all-caps words read as shouting: {words}")
        )
    exclamations = text.count("!")
    if exclamations > 1:
        issues.append(
            BrandIssue(
                rule="exclamation", detail=f"{exclamations} exclamation marks; use one at most"
            )
        )
    return issues


def banned_phrases_in(text: str, phrases: list[str]) -> list[str]:
    """The phrases that occur in the text as whole words or phrases, ignoring case."""
    found = []
    for phrase in phrases:
        words = phrase.strip().split()
        if not words:
            continue
        # Any run of whitespace matches between words, and no letter may touch either end.
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            found.append(phrase)
    return found


def _fill(template: str, values: dict[str, str]) -> str:
    # Replace {name} fields but leave {{placeholders}} for the sending platform.
    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return re.sub(r"(?<!\{)\{(\w+)\}(?!\})", replace, template)


def _sms(template: str, values: dict[str, str], offer: str | None) -> str:
    short = f"{offer[:1].upper()}{offer[1:]}. " if offer else ""
    message = _fill(template, {**values, "offer_short": short}).strip()
    room = SMS_LIMIT - len(SMS_OPT_OUT) - 1
    if len(message) > room:
        # Drop the offer first, then trim, so the link and opt-out always fit.
        message = _fill(template, {**values, "offer_short": ""}).strip()
    if len(message) > room:
        message = message[: room - 3].rstrip() + "..."
    return f"{message} {SMS_OPT_OUT}"
