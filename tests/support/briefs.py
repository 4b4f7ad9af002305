"""One brief per playbook, as a marketer would type it."""

from __future__ import annotations

from tests.support.home import WINBACK

BRIEFS = {
    "winback": WINBACK,
    "launch": "Launch our new trail running shoe to active customers by email next week, "
    "budget $3,000",
    "promotion": "Black Friday sale: 25% off for VIP customers, email and SMS, $1,500",
    "newsletter": "Send the December newsletter to subscribers on December 3",
    "event_followup": "Follow up with webinar attendees by email tomorrow",
    "lead_nurture": "Nurture new signups from the last 60 days who haven't purchased yet",
    "budget_review": "Budget review: are we pacing on our $8,000 budget this month?",
    "performance_report": "How did our channels perform last month? Give me a KPI report.",
    "ab_test": "A/B test two subject lines for the newsletter to engaged subscribers next week",
    "audience_build": "Build a segment of customers in Europe who bought at least 3 times",
    "content_review": 'Review this copy: "Our jackets keep you dry on every trail. You are '
    "receiving this because you opted in to Northwind updates. Unsubscribe: "
    '{{unsubscribe_url}}"',
}
