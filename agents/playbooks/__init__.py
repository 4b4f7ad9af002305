"""Playbooks: the steps, KPI and channels of each kind of campaign."""
