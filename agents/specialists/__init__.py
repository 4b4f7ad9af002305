"""The specialists: one module per agent, each a small set of skills over deterministic tools.

`registry.skill_for(kind)` finds a kind's Skill; `base` defines what a Skill knows.
"""

from agents.specialists.base import Evaluation, Param, Proposal, Skill, SkillContext

__all__ = ["Evaluation", "Param", "Proposal", "Skill", "SkillContext"]
