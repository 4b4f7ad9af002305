"""Playbooks: one record per kind of plan (base.Playbook), listed in the registry."""
