"""Whose rows a tool reads: every contact, a list of contact ids, or an executed segment's members.

An executed segment's members are stored (`segmentmember` rows of its action), so a tool
given the segment reads them where they are: no ids travel through Python and no copy of
them is made per tool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from db.temp import id_table

SEGMENT_MEMBERS = "(SELECT contact_id AS id FROM segmentmember WHERE action_id = :segment)"
"""The members of the executed segment action bound to `:segment`, as a FROM item."""


@dataclass(frozen=True)
class Members:
    """A FROM item of contact ids (column `id`, each once), and the parameters it binds."""

    source: str | None
    """The FROM item (a table or a subquery); None means every contact."""
    params: dict[str, object] = field(default_factory=dict)

    def filter(self, column: str) -> str:
        """An `AND ...` term keeping the rows whose `column` is a member ("" for everyone)."""
        return "" if self.source is None else f"AND {column} IN (SELECT id FROM {self.source})"


@contextmanager
def member_scope(
    conn: Connection,
    name: str,
    *,
    contact_ids: Iterable[int] | None = None,
    segment_action_id: str | None = None,
) -> Iterator[Members]:
    """The contacts a query is limited to, for the block.

    `segment_action_id` reads that executed segment's stored members; `contact_ids` copies
    the ids into temp table `name`; neither means every contact.
    """
    if segment_action_id is not None:
        if contact_ids is not None:
            raise ValueError("give contact_ids or segment_action_id, not both")
        yield Members(SEGMENT_MEMBERS, {"segment": segment_action_id})
        return
    if contact_ids is None:
        yield Members(None)
        return
    with id_table(conn, name, contact_ids) as table:
        yield Members(table)


def segment_fingerprint(conn: Connection, segment_action_id: str) -> tuple[int, int]:
    """(members, sum of their ids) of an executed segment: a cache key part for its members."""
    count, total = conn.exec_driver_sql(
        "SELECT count(*), coalesce(sum(contact_id), 0) FROM segmentmember WHERE action_id = ?",
        (segment_action_id,),
    ).one()
    return int(count), int(total)
