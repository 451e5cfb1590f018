"""Page anchors: deep pages of a big list in page mode without a long OFFSET.

`?page=4000` of the posts list skips 79,980 rows; even over ids only, walking
that much of the index took 12 ms, ten times page 1. For a list whose size a
counter maintains (`Maintained`), the process keeps an anchor every `STRIDE`
rows: the sort key of row STRIDE, 2*STRIDE, ... A deep page (from MIN_OFFSET
rows on) then starts after the nearest anchor below it (an index seek) and
skips fewer than STRIDE rows; a shallower one is an OFFSET over ids, cheaper
than reading the counter first.

The anchors are exact, not an estimate: they are rebuilt (one window-function
pass over ids) when the list's revision differs from the one they were built
at. The revision changes whenever a row joins or leaves the list; only sorts
whose keys never change (`Maintained.stable_sorts`) use anchors, since an edit
that moved a row would not change the revision. Without a revision (SQLite),
or for any other sort, a page is an OFFSET as before.
"""

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select

STRIDE = 1000


@dataclass(frozen=True)
class Maintained:
    """What a maintained counter knows of a list: its exact size, and a revision
    that changes whenever rows join or leave it (None when the database cannot say)."""

    total: int
    revision: str | None = None


@dataclass(frozen=True, eq=False)  # compared by identity: a statement cache key
class MaintainedCount:
    """A list whose size a counter keeps exact.

    `read()` gives the counter's `Maintained` state (one statement), which anchors
    need; `total` is the same size as a SQL expression (NULL when the counter is
    unknown), so a page that needs no anchor reads it in its own statement.
    `stable_sorts` name the sorts whose keys never change.
    """

    read: Callable[[], Maintained | None]
    total: ColumnElement
    stable_sorts: frozenset = field(default_factory=frozenset)


# ids statement -> {(sort name, direction): (revision, [key of row STRIDE, 2*STRIDE, ...])}
_anchors = weakref.WeakKeyDictionary()


# From this offset on, anchors pay for the statement that reads the counter's
# revision (about 0.2 ms of CPU in process, and a round trip). Measured on 100,000
# posts (95,155 published), PostgreSQL 15 after VACUUM ANALYZE, the published list
# newest first, 20 rows; database time per page (psycopg, median of 15 x 10):
#   offset        0      2,000    5,000    20,000
#   OFFSET      2.1 ms   2.6 ms   3.1 ms    7.2 ms
#   anchors       -      2.0 ms   2.2 ms    2.3 ms  (both statements)
# In process (Conduit's articles through the test client, medians of 11
# interleaved rounds of 50, a busy 2-core machine, two runs): at offsets 2,000
# and 3,000 anchors cost 130-400 us more CPU and saved no wall time; without them
# offset 2,000 was 0.89x page 1 in both runs. Anchors halved offset 20,000 (3.6
# against 7.6 ms wall). Helper B measured offset 2,000 at 0.76-0.87x page 1 with
# anchors and about 1.0x without. An OFFSET walks about
# 0.25 us of index per row skipped: below 5,000 rows that is under the anchors'
# own cost, past it the walk grows and the anchors' stays flat. Keep it >= STRIDE.
MIN_OFFSET = 5 * STRIDE


def may_help(counter, sort, offset):
    """Whether anchors could serve this page: deep enough to pay for reading the
    counter's state first (MIN_OFFSET), in a sort whose keys never change."""
    return counter is not None and sort.name in counter.stable_sorts and offset >= MIN_OFFSET


def usable(known):
    return known is not None and known.revision is not None


def anchor_before(connection, ids, sort, id_column, known, offset, params):
    """(key of the last anchor at or before `offset`, rows still to skip after it)."""
    keys = anchors(connection, ids, sort, id_column, known.revision, params)
    index = min(offset // STRIDE, len(keys))
    if index == 0:
        return None, offset
    return keys[index - 1], offset - index * STRIDE


def anchors(connection, ids, sort, id_column, revision, params):
    """The anchors of `ids` (a statement made once per list) in this order, current
    as of `revision`."""
    made = _anchors.setdefault(ids, {})
    shape = (sort.name, sort.descending, STRIDE)
    built = made.get(shape)
    if built is None or built[0] != revision:
        built = made[shape] = (revision, build(connection, ids, sort, id_column, params))
    return built[1]


def build(connection, ids, sort, id_column, params):
    """The sort key of every STRIDE-th row, in order: one pass over the ids' index."""
    columns = (*sort.columns, id_column)
    position = func.row_number().over(order_by=sort.order_by(id_column)).label("position")
    numbered = ids.add_columns(*sort.columns, position).subquery()
    keys = [numbered.c[column.key] for column in columns]
    every = select(*keys).where(numbered.c.position % STRIDE == 0).order_by(numbered.c.position)
    return [list(row) for row in connection.execute(every, params)]
