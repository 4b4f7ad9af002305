"""The CLI's own refusals, beside the service's: each one sentence on stderr."""

from __future__ import annotations

from db.errors import BatonError


class CliError(BatonError):
    """A refusal to print as one sentence on stderr, with exit code 2."""


class AuditBroken(BatonError):
    """`audit verify` found a broken link: one sentence on stderr, exit code 1."""
