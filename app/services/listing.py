"""The SQL of every list: order, keyset, bounded pages, ids first, counting.

A list endpoint describes its rows as a `Listing` (an unexecuted select, its id
column, the sorts a client may ask for, and a maintained counter when one
keeps the list's size); app/core/paging.py turns the request's arguments into
calls on it (`page`, `after`) and builds the envelope, cursors and links. This
module knows nothing of HTTP: it runs statements and gives back rows.

- Page mode: the page's ids are found first (OFFSET over a select of ids, so a
  deep page does not compute the columns of the rows it skips), and the total
  comes in the same statement, counted or read from the counter. For a list
  whose size a counter maintains, a deep page seeks to the nearest anchor
  first (app/services/page_anchors.py).
- Cursor mode: keyset over (sort key, id), so a deep page costs what the first
  does, and inserts while a client scrolls cause no duplicates or gaps.
- Offset windows (Conduit's `limit`/`offset`): page mode's statement by offset.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, tuple_

from app.core.database import reading_connection
from app.extensions import db
from app.services import page_anchors
from app.services.statement_cache import derived


@dataclass(frozen=True)
class Sort:
    """An order: one or more key columns, then id, all in one direction."""

    name: str
    columns: tuple
    descending: bool

    @classmethod
    def parse(cls, value, sorts):
        """`value` is a name in `sorts`, with `-` before it for descending."""
        name = value.removeprefix("-")
        columns = sorts[name]
        columns = columns if isinstance(columns, tuple) else (columns,)
        return cls(name, columns, value.startswith("-"))

    @property
    def key_length(self):
        """Values in a key of this order: the sort columns', then the id."""
        return len(self.columns) + 1

    def order_by(self, id_column):
        direction = "desc" if self.descending else "asc"
        return [getattr(column, direction)() for column in (*self.columns, id_column)]

    def after(self, id_column):
        """Rows strictly after a key in this order, as one row-value comparison; the
        key's values are the parameters `after_params` names."""
        columns = (*self.columns, id_column)
        # Typed, so dates bind exactly as the columns store them.
        bound = tuple_(*(bindparam(f"after_{i}", type_=c.type) for i, c in enumerate(columns)))
        row = tuple_(*columns)
        return row < bound if self.descending else row > bound

    def after_params(self, key):
        return {f"after_{i}": value for i, value in enumerate(key)}


def attribute_values(item, sort):
    """An item's values for the sort columns, read from the same-named attributes."""
    return [getattr(item, column.key) for column in sort.columns]


@dataclass(frozen=True)
class Listing:
    """The rows of one list endpoint, ready to be paged.

    `sorts` maps the client's sort names to a column or a tuple of columns. `counter`
    (page_anchors.MaintainedCount), when given, keeps the size of `query`'s
    rows: page mode then reads it instead of counting, and seeks deep pages
    from anchors. `default_sort` is the order when the client names none.
    `params` are values for `query`'s bind parameters (statement_cache.py).
    `sort_values(item, sort)` gives an item's sort-column values.
    """

    query: Select
    id_column: ColumnElement
    sorts: Mapping = field(default_factory=dict)
    default_sort: Sort | None = None
    counter: page_anchors.MaintainedCount | None = None
    params: Mapping = field(default_factory=dict)
    sort_values: Callable = attribute_values

    def sort(self, value):
        """The order named `value` (`-` first for descending), or the default for None."""
        return self.default_sort if value is None else Sort.parse(value, self.sorts)

    def key_of(self, item, sort):
        """The item's key in `sort`, for a cursor: its sort values, then its id."""
        return [*self.sort_values(item, sort), item.id]

    def page(self, sort, number, per_page):
        """(items, total) of page `number`."""
        return numbered_page(self, sort, (number - 1) * per_page, per_page)

    def after(self, sort, key, limit):
        """Up to `limit` items after `key` (None: from the start)."""
        return keyset_page(self, sort, key, limit)

    def window(self, offset, limit):
        """(items, total) from row `offset`, in the default order."""
        return numbered_page(self, self.default_sort, offset, limit)


def window(query, *order, limit):
    """The first `limit` rows of `query` in `order` (a list without pages)."""
    statement = derived(query, ("window",), lambda: bounded(query.order_by(*order)))
    return fetch(statement, {"row_limit": limit})


def numbered_page(listing, sort, offset, limit):
    query, id_column, counter = listing.query, listing.id_column, listing.counter
    params = dict(listing.params)
    after, known = False, None
    if page_anchors.may_help(counter, sort, offset):
        known = counter.read()
        if page_anchors.usable(known):
            ids = derived(query, ("ids",), lambda: ids_of(query, id_column))
            key, offset = page_anchors.anchor_before(
                reading_connection(), ids, sort, id_column, known, offset, params
            )
            if key is not None:
                params.update(sort.after_params(key))
                after = True
    # Without the counter's state in hand, the total comes with the page.
    counted_with_page = known is None
    shape = ("page", sort.name, sort.descending, offset > 0, after, counted_with_page, counter)

    def build():
        statement = page_query(query, sort, id_column, offset=offset > 0, after=after)
        return with_total(statement, query, id_column, counter) if counted_with_page else statement

    statement = derived(query, shape, build)
    params.update(row_limit=limit, row_offset=offset)
    if counted_with_page:
        items, total = fetch_with_total(statement, params)
    else:
        items, total = fetch(statement, params), known.total
    if total is None:  # past the last page, or the counter is unknown
        total = count_rows(query, id_column, listing.params)
    return items, total


def keyset_page(listing, sort, key, limit):
    query, id_column = listing.query, listing.id_column
    params = dict(listing.params)
    after = key is not None
    if after:
        params.update(sort.after_params(key))
    shape = ("cursor", sort.name, sort.descending, after)
    statement = derived(query, shape, lambda: cursor_query(query, sort, id_column, after=after))
    return fetch(statement, {**params, "row_limit": limit})


def fetch(query, params=None):
    """Run a list query: ORM entities for a select of a model, plain rows for a select
    of columns."""
    if derived(query, ("selects entities",), lambda: selects_entities(query)):
        return db.session.execute(query, params).scalars().unique().all()
    return read_rows(query, params).all()


LIST_TOTAL = "list_total"


def with_total(statement, query, id_column, counter=None):
    """`statement` (a page of `query`) with the list's size as a last column, so the
    page and its total take one round trip and see one snapshot.

    The size is the counter's when the list has one, else a count over ids; the
    database computes it once for the statement, not per row.
    """
    total = counter.total if counter is not None else counting(query, id_column).scalar_subquery()
    return statement.add_columns(total.label(LIST_TOTAL))


def fetch_with_total(statement, params):
    """Run a statement made by `with_total`: (items, total). The total is None when
    the page is empty (no row carried it) or the counter is unknown."""
    if derived(statement, ("selects entities",), lambda: selects_entities(statement)):
        rows = db.session.execute(statement, params).unique().all()
        items = [row[0] for row in rows]
    else:
        rows = items = read_rows(statement, params).all()
    return items, (rows[0][-1] if rows else None)


def selects_entities(query):
    return any(isinstance(column["type"], type) for column in query.column_descriptions)


def read_rows(query, params=None):
    """Run a select of columns: plain rows, without the ORM's result processing
    (about 200 us a page of 20 posts), on `database.reading_connection()`."""
    return reading_connection().execute(query, params)


ROW_LIMIT = bindparam("row_limit", type_=Integer, literal_execute=True)
ROW_OFFSET = bindparam("row_offset", type_=Integer, literal_execute=True)


def bounded(query, *, offset=False):
    """`query` limited to `row_limit` rows (from `row_offset`): values written into
    the SQL when it runs, not bound.

    Bound, they would make one prepared statement for every page size, and after
    five runs PostgreSQL plans a prepared statement generically: not knowing the
    limit, it chose a plan that took twice as long for a page of 20 (457 against
    919 us on 100,000 posts). Written in, each page size is planned for itself.
    """
    query = query.limit(ROW_LIMIT)
    return query.offset(ROW_OFFSET) if offset else query


def ids_of(query, id_column):
    """`query`'s rows as ids only: same filter, none of the computed columns.

    FROM just the id's table when the filter reads no other: with the list's
    joins left in, even outer joins PostgreSQL then removes, it did not walk the
    ordering index for a deep page but sorted every row (98 ms against 12 for
    page 4,000 of 100,000 posts).
    """
    ids = select(id_column)
    if query.whereclause is not None:
        ids = ids.where(query.whereclause)
    if ids.get_final_froms() == [id_column.table]:
        return ids
    return query.with_only_columns(id_column, maintain_column_froms=True)


def page_query(query, sort, id_column, *, offset, after=False):
    """The rows of one page by OFFSET, its ids found before anything else is computed.

    A deep page skips `row_offset` rows; selecting only ids lets the database walk
    the index for those, instead of computing every column (counts, tags) of rows
    it then throws away. `after` starts after a key first (page_anchors).
    """
    order = sort.order_by(id_column)
    ids = ids_of(query, id_column)
    if after:
        ids = ids.where(sort.after(id_column))
    ids = bounded(ids.order_by(*order), offset=offset)
    return query.where(id_column.in_(ids.scalar_subquery())).order_by(*order)


def cursor_query(query, sort, id_column, *, after):
    if after:
        query = query.where(sort.after(id_column))
    return bounded(query.order_by(*sort.order_by(id_column)))


def counting(query, id_column):
    """A count of the list's rows over ids only, never the computed columns."""
    return select(func.count()).select_from(ids_of(query, id_column).subquery())


def count_rows(query, id_column, params=None):
    """How many rows the list has, counted in a statement of its own."""
    statement = derived(query, ("count",), lambda: counting(query, id_column))
    return reading_connection().scalar(statement, params)
