"""The one base of every error Baton explains to a person: its text is one sentence.

The chat and the CLI catch `BatonError` once and show `str(error)`; anything else is a
bug. Each layer raises its own subclass (a refused decision, a refused import, a policy
file that does not parse, a model that failed), and all of them import this module, the
lowest layer, so the base sits here.
"""

from __future__ import annotations


class BatonError(Exception):
    """Something Baton refused or could not do, said in one sentence a person can act on."""
