"""The history list: newest first, filtered, keyset-paged by an opaque cursor, and one index
scan however large the table (the plans at a million rows are in bench/README.md)."""

from __future__ import annotations

import base64
import random

import pytest
from sqlalchemy import text

from gate.store import BadCursor, GateQuery
from gate.store.paging import decode_cursor, encode_cursor
from tests.store.helpers import bulk_insert, row

T0 = 1_800_000_000_000


async def all_pages(store, **filters):
    """Every row of the query, page by page (limit 7), and the number of pages."""
    rows, cursor, pages = [], None, 0
    while True:
        async with store.read() as tx:
            page = await tx.list_gates(GateQuery(limit=7, cursor=cursor, **filters))
        rows.extend(page.rows)
        pages += 1
        if page.next_cursor is None:
            return rows, pages
        cursor = page.next_cursor


@pytest.fixture
async def history(store):
    """60 gates over 20 milliseconds (three share each), in 3 repositories, 2 pulls each."""
    rnd = random.Random(18)
    rows = [
        row(
            T0 + i // 3,
            repository=f"octo/r{i % 3}",
            pull_number=i % 2,
            sha=f"{i % 4:040x}",
            status=rnd.choice(["queued", "waiting", "done"]),
            verdict=rnd.choice([None, "pass", "fail"]),
        )
        for i in range(60)
    ]
    rnd.shuffle(rows)
    await bulk_insert(store.engine, rows)
    return rows


def newest_first(rows):
    return [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)]


async def test_keyset_paging_returns_every_row_once_newest_first(store, history):
    rows, pages = await all_pages(store)
    assert [g.id for g in rows] == newest_first(history)
    assert pages == 9  # 60 rows, 7 a page


@pytest.mark.parametrize(
    "filters",
    [
        {"repository": "octo/r1"},
        {"repository": "octo/r2", "pull_number": 1},
        {"sha": f"{3:040x}"},
        {"status": "waiting"},
        {"verdict": "fail"},
        {"repository": "octo/r0", "status": "done"},
    ],
)
async def test_paging_with_filters_returns_exactly_the_matching_rows(store, history, filters):
    rows, _ = await all_pages(store, **filters)
    expected = [r for r in history if all(r[k] == v for k, v in filters.items())]
    assert expected  # the filter selects something
    assert [g.id for g in rows] == newest_first(expected)


async def test_a_page_of_exactly_the_limit_has_no_next_cursor(store, history):
    async with store.read() as tx:
        page = await tx.list_gates(GateQuery(repository="octo/r1", limit=20))
        assert (len(page.rows), page.next_cursor) == (20, None)
        empty = await tx.list_gates(GateQuery(repository="nobody/none"))
    assert (empty.rows, empty.next_cursor) == ((), None)


def test_a_cursor_round_trips_and_a_bad_one_is_refused():
    gate_id = "gt_01M97V5CVQMENZ1KNXT55F5HFB"
    assert decode_cursor(encode_cursor(T0, gate_id)) == (T0, gate_id)
    good = encode_cursor(T0, gate_id)
    bad = [
        "",
        "not base64!",
        good + "A",
        good[:-2],
        "x" * 500,
        base64.urlsafe_b64encode(b"12:gt_short").decode(),
        base64.urlsafe_b64encode(f"-1:{gate_id}".encode()).decode(),
        base64.urlsafe_b64encode(f"{T0}:{gate_id}' OR 1=1 --".encode()).decode(),
        base64.urlsafe_b64encode(f"{T0}{gate_id}".encode()).decode(),
        "éé",
    ]
    for cursor in bad:
        with pytest.raises(BadCursor, match="cursor is not valid"):
            decode_cursor(cursor)


async def test_listing_with_a_bad_cursor_is_bad_cursor(store):
    async with store.read() as tx:
        with pytest.raises(BadCursor):
            await tx.list_gates(GateQuery(cursor="bm9wZQ"))


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_a_limit_out_of_range_is_refused(limit):
    with pytest.raises(ValueError, match="between 1 and 200"):
        GateQuery(limit=limit)


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status must be one of"):
        GateQuery(status="finished")


INDEXED = [
    ({}, "ix_gates_created"),
    ({"repository": "o/r7"}, "ix_gates_repo_created"),
    ({"repository": "o/r7", "pull_number": 7}, "ix_gates_repo_pr_created"),
    ({"sha": f"{7:040x}"}, "ix_gates_sha_created"),
    ({"status": "waiting"}, "ix_gates_status_created"),
]


@pytest.mark.parametrize(("filters", "index"), INDEXED, ids=[i for _, i in INDEXED])
async def test_the_list_query_reads_an_index_not_the_table(store, backend, filters, index):
    rows = [
        row(
            T0 + i,
            repository=f"o/r{i % 40}",
            pull_number=i % 80,
            sha=f"{i % 400:040x}",
            status=("queued", "waiting", "done", "done", "done")[i % 5],
        )
        for i in range(4000)
    ]
    await bulk_insert(store.engine, rows)
    async with store.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    first = await store.explain(GateQuery(**filters))
    async with store.read() as tx:
        page = await tx.list_gates(GateQuery(**filters))
    deep = await store.explain(GateQuery(cursor=page.next_cursor, **filters))
    for plan in (first, deep):
        shown = "\n".join(plan)
        if backend == "sqlite":
            # one index, in the order asked: no table scan, no sort
            assert index in shown, shown
            assert "TEMP B-TREE" not in shown, shown
        else:
            # PostgreSQL's planner costs a few thousand rows its own way (it may sort a
            # bitmap scan's hundred rows); what must hold at any size is: never the table
            assert "Seq Scan" not in shown, shown
            assert "ix_gates_" in shown, shown
