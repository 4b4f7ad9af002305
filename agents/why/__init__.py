"""Explanations from the decision record: why, why not, and questions about a plan."""
