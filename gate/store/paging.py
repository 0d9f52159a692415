"""The history list: newest first, filtered, paged by an opaque keyset cursor.

The order is `(created_at DESC, id DESC)` and each filter has an index that starts with it and
ends with `(created_at, id)`, so a page is one index range scan read backwards, however deep
the page, at a million rows as at ten (bench/store_throughput.py shows the plans). The cursor is
urlsafe base64 of `created_at:id` of the page's last row; one that does not decode to that
shape is `BadCursor`.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gate.store.errors import BadCursor
from gate.store.ids import GATE_ID
from gate.store.tables import gates
from gate.store.values import GateQuery

__all__ = ["decode_cursor", "encode_cursor", "explain", "list_statement"]

MAX_CURSOR_CHARS = 128


def encode_cursor(created_at: int, gate_id: str) -> str:
    return (
        base64.urlsafe_b64encode(f"{created_at}:{gate_id}".encode("ascii"))
        .decode("ascii")
        .rstrip("=")
    )


def decode_cursor(cursor: str) -> tuple[int, str]:
    """`(created_at, id)` of a cursor `encode_cursor` made, or `BadCursor`."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        raise BadCursor
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise BadCursor from None
    created, sep, gate_id = text.partition(":")
    if not sep or not created.isdigit() or len(created) > 15 or not GATE_ID.fullmatch(gate_id):
        raise BadCursor
    if encode_cursor(int(created), gate_id) != cursor:  # one spelling per cursor
        raise BadCursor
    return int(created), gate_id


def list_statement(query: GateQuery) -> Select[tuple[object, ...]]:
    """The SELECT for one page of `query`: `limit + 1` rows (the extra one says whether there
    is a next page)."""
    conditions = []
    if query.repository is not None:
        conditions.append(gates.c.repository == query.repository)
    if query.pull_number is not None:
        conditions.append(gates.c.pull_number == query.pull_number)
    if query.sha is not None:
        conditions.append(gates.c.sha == query.sha)
    if query.status is not None:
        conditions.append(gates.c.status == query.status)
    if query.verdict is not None:
        conditions.append(gates.c.verdict == query.verdict)
    if query.cursor is not None:
        created, gate_id = decode_cursor(query.cursor)
        # `created_at <= c` bounds the index range; the OR only trims the boundary millisecond.
        conditions.append(gates.c.created_at <= created)
        conditions.append(or_(gates.c.created_at < created, gates.c.id < gate_id))
    return (
        select(gates)
        .where(*conditions)
        .order_by(gates.c.created_at.desc(), gates.c.id.desc())
        .limit(query.limit + 1)
    )


async def explain(connection: AsyncConnection, query: GateQuery) -> list[str]:
    """How the database runs `query`'s page: SQLite's EXPLAIN QUERY PLAN details, or
    PostgreSQL's EXPLAIN lines (for tests and benches: which index, whether it sorts)."""
    compiled = list_statement(query).compile(dialect=connection.dialect)
    params: object = compiled.params
    if compiled.positional and compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    sqlite = connection.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    result = await connection.exec_driver_sql(prefix + str(compiled), params)  # type: ignore[arg-type]
    return [str(row[-1]) if sqlite else str(row[0]) for row in result.all()]
