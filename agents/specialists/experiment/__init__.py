"""The experiment specialist: read out the last A/B test, then design the next one to be powered."""

from agents.specialists.experiment.design import SKILL, design_for_plan
from agents.specialists.experiment.readout import READ_OUT

__all__ = ["READ_OUT", "SKILL", "design_for_plan"]
