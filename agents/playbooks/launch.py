"""Launch: announce a new product, after reading recent trends."""

from __future__ import annotations

from agents.planning.goal import Goal, StepDraft
from agents.playbooks.base import Playbook, rule
from agents.playbooks.campaign import campaign_steps
from agents.playbooks.steps import step


def _steps(playbook: Playbook, goal: Goal, review_text: str | None) -> list[StepDraft]:
    channels = list(goal.channels)
    trends = step(
        "trends",
        "research.period_trends",
        "Read recent trends for the launch",
        inputs={"channels": channels} if channels else {},
    )
    return campaign_steps(playbook, goal, review_text, first=trends)


LAUNCH = Playbook(
    name="launch",
    description="announce a new product",
    kpi="conversions",
    sends=True,
    template=_steps,
    # The bare word "launch" ("launch a sale") only decides when nothing else does.
    rules=(
        rule(
            110,
            r"\bnew\s+(?:product|collection|line|feature|range|flavou?r|model|release|app"
            r"|service|menu|program|programme|store|location)s?\b|\bintroduc\w*|\bannounc\w*|\bunveil\w*|\bproduct\s+launch\b"
            r"|\bpre-?orders?\b|\bcoming\s+soon\b|\blaunch(?:ing)?\s+(?:of\s+)?(?:our|the|a|my)"
            r"\s+new\b",
        ),
        rule(
            160,
            r"\blaunch\w*|\brelease\b",
        ),
    ),
    objective="Launch the new product",
    audience_objective="Launch the new product to {audience}",
    channels=("email",),
    segment_title="Build the launch audience",
)
