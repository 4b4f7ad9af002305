"""The specialists: one module per agent, each a small set of skills over deterministic tools."""

from agents.specialists.base import SKILLS, Proposal, Skill, SkillContext, skill_for

__all__ = ["SKILLS", "Proposal", "Skill", "SkillContext", "skill_for"]
