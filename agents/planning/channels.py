"""Channels in a brief: which ones it names, and how to say a list of them."""

from __future__ import annotations

import re

from agents.planning.quotes import straighten_quotes
from db.vocabulary import Channel

# A word that is also an everyday verb or noun ("push the date", "display the results",
# "search the notes") only counts as a channel next to its channel noun or in a list.
_LIST_BEFORE = r"(?:(?:,|\+|/|&|\band|\bor|\bvia|\bplus|\bthrough|\bon|\bby)\s*)"
_LIST_AFTER = r"(?=\s*(?:,|\+|/|&|\band\b|\bor\b|\.|;|$|\bonly\b))"
_NOT_A_VERB = r"(?!\s+(?:the|it|this|that|them|back|out|forward|ahead|for|to|our|my|a)\b)"


def _ambiguous(word: str, nouns: str) -> str:
    return (
        rf"\b{word}\s+(?:{nouns})\b"
        rf"|{_LIST_BEFORE}\b{word}\b{_NOT_A_VERB}"
        rf"|\b{word}\b{_LIST_AFTER}"
    )


_CHANNEL_SOURCES: tuple[tuple[Channel, str], ...] = (
    ("email", r"\be-?mail(?:s|ing|ed)?\b"),
    (
        "sms",
        r"\bsms\b|\bmms\b|\btext(?:s|ing)\b|\btext\s+messag\w*|\b(?:via|by)\s+text\b"
        r"|\btext\s+(?:them|everyone|customers|subscribers|people|users|vips?|our|all)\b",
    ),
    ("push", _ambiguous("push", r"notifications?|messages?|alerts?")),
    (
        "social",
        r"\bsocial\b|\bfacebook\b|\bfb\b|\binsta(?:gram)?\b|\btik\s?tok\b|\blinked\s?in\b"
        r"|\btwitter\b|\bpinterest\b|\bsnapchat\b|\byoutube\b|\bmeta\s+ads\b",
    ),
    (
        "search",
        r"\bgoogle\s+ads\b|\bbing\s+ads\b|\badwords\b|\bpaid\s+search\b|\bsem\b|\bppc\b"
        r"|\bsearch\s+engine\s+marketing\b|" + _ambiguous("search", r"ads?|campaigns?"),
    ),
    (
        "display",
        r"\bbanners?\b(?!\s+on\s+(?:the\s+)?(?:web)?site)|\bprogrammatic\b|"
        + _ambiguous("display", r"ads?|network|campaigns?|banners?"),
    ),
    ("direct_mail", r"\bdirect\s+mail\w*|\bpostcards?\b|\bsnail\s+mail\b|\bprinted\s+mail"),
    (
        "web",
        r"\bweb\s?sites?\b|\blanding\s+pages?\b|\bhome\s?page\b|\bon-?site\b"
        r"|\bweb\b(?!\s+push)",
    ),
)
_CHANNEL_PATTERNS = tuple(
    (channel, re.compile(pattern, re.IGNORECASE)) for channel, pattern in _CHANNEL_SOURCES
)


def extract_channels(text: str) -> list[Channel]:
    """The channels the brief names, in canonical order (email first, web last).

    Synonyms: "e-mail(s)" email; "SMS", "texts", "text message" sms; "push
    notifications" push; Facebook, Instagram, TikTok, LinkedIn, "social" social;
    "Google Ads", "paid search", "SEM", "search ads" search; "banner", "display ads"
    display; "direct mail", "postcard" direct_mail; "website", "landing page", "web"
    web. Words are matched whole ("research" is not search), and "newsletter" is a
    playbook, not a channel.
    """
    text = straighten_quotes(text)
    return [channel for channel, pattern in _CHANNEL_PATTERNS if pattern.search(text)]


_CHANNEL_NAMES: dict[str, str] = {
    "email": "email",
    "sms": "SMS",
    "push": "push",
    "social": "social",
    "search": "search",
    "display": "display",
    "direct_mail": "direct mail",
    "web": "web",
}


def channel_phrase(channels: list[Channel]) -> str:
    """Channels as words: "email", "email and SMS", "email, SMS and push"."""
    names = [_CHANNEL_NAMES[channel] for channel in channels]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
