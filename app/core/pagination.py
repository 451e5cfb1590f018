"""One pagination helper for every list endpoint: page mode and cursor mode.

A list view builds an unexecuted `select()` and hands it to `paginate` with
the validated query arguments and the endpoint's sort whitelist. The helper
orders (sort key, then id in the same direction), bounds, counts when asked,
applies OFFSET or a keyset condition, and builds the `{"items", "meta"}`
envelope with RFC 8288 `Link` headers.

- Page mode (`?page=N`): total and pages are exact, counted or (for a list whose
  size a counter maintains) read, in the page's own statement; deep pages cost
  an OFFSET, or for such a list a seek to the nearest anchor and a short OFFSET
  (page_anchors.py).
- Cursor mode (no `page`): keyset over (sort key, id), so inserts while a client
  scrolls cause no duplicates or gaps and a deep page costs what the first does.
  The cursor is signed (tamper-evident, opaque) and bound to the list, sort
  and filters it was made for; any other use is 400.
"""

import hashlib
import math
import weakref
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from marshmallow import fields, validate
from sqlalchemy import Integer, bindparam, func, select, tuple_
from werkzeug.exceptions import BadRequest

from app.core import page_anchors
from app.core.database import reading_connection
from app.extensions import db
from app.schemas.base import InputSchema, OutputSchema

MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
# The longest cursor the server writes is under 1000 characters: a title sort over
# 200 characters outside the BMP, escaped in JSON and compressed, came to 983.
MAX_CURSOR_LENGTH = 1000
PAGING_ARGS = {"page", "per_page", "cursor"}


class PaginationArgs(InputSchema):
    """Query arguments every list takes; subclasses add filters and set `sort`."""

    page = fields.Integer(
        validate=validate.Range(1, MAX_PAGE), metadata={"description": "Page mode"}
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PER_PAGE))
    cursor = fields.String(
        # What `encode_cursor` writes (itsdangerous: URL-safe base64 and dots). Checked
        # here, not left to the signature, so that it holds in page mode too.
        validate=[
            validate.Length(max=MAX_CURSOR_LENGTH),
            validate.Regexp(r"^[A-Za-z0-9_.-]*$", error="Not a cursor this server wrote."),
        ],
        metadata={"description": "Cursor mode: empty for the first page, then meta.next_cursor"},
    )


def sort_field(names, default):
    """A `sort` argument limited to `names`, each ascending or with `-` descending."""
    choices = [name for base in names for name in (base, f"-{base}")]
    return fields.String(load_default=default, validate=validate.OneOf(choices))


class PageMetaSchema(OutputSchema):
    per_page = fields.Integer(required=True)
    page = fields.Integer(metadata={"description": "Page mode only"})
    total = fields.Integer(metadata={"description": "Page mode only"})
    pages = fields.Integer(metadata={"description": "Page mode only"})
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Cursor mode only; null on the last page"}
    )


_envelopes = {}


def page_of(item_schema):
    """The `{"items": [...], "meta": {...}}` envelope schema for `item_schema`."""
    name = f"{item_schema.__name__.removesuffix('Schema')}PageSchema"
    if name not in _envelopes:
        _envelopes[name] = type(
            name,
            (OutputSchema,),
            {
                "items": fields.List(fields.Nested(item_schema), required=True),
                "meta": fields.Nested(PageMetaSchema, required=True),
            },
        )
    return _envelopes[name]


@dataclass(frozen=True)
class Sort:
    """An order: one or more key columns, then id, all in one direction."""

    name: str
    columns: tuple
    descending: bool

    @classmethod
    def parse(cls, value, sorts):
        name = value.removeprefix("-")
        columns = sorts[name]
        return cls(
            name, columns if isinstance(columns, tuple) else (columns,), value.startswith("-")
        )

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
        if len(key) != len(self.columns) + 1:
            raise BadRequest("The cursor was made for another list, sort or filter.")
        return {f"after_{i}": value for i, value in enumerate(key)}


def attribute_values(item, sort):
    """An item's values for the sort columns, read from the same-named attributes."""
    return [getattr(item, column.key) for column in sort.columns]


def paginate(
    query,
    args,
    *,
    id_column,
    sorts=None,
    sort=None,
    key_of=attribute_values,
    counter=None,
    params=None,
):
    """Run `query` for one page; returns (body, 200, headers) for a smorest view.

    `sorts` maps the client's sort names to a column or a tuple of columns, or
    `sort` gives the order outright (e.g. relevance for a search). `key_of(item,
    sort)` gives an item's values for the sort columns, for the next cursor.
    `counter` (page_anchors.MaintainedCount), when given, keeps the size of `query`'s
    rows: page mode then reads it instead of counting them, and finds deep pages
    from anchors.
    `params` are values for `query`'s bind parameters (see `derived`).
    """
    sort = sort or Sort.parse(args["sort"], sorts)
    params = dict(params or {})
    if args.get("page") is not None:
        return _page_mode(query, args, sort, id_column, counter, params)
    return _cursor_mode(query, args, sort, id_column, key_of, params)


_derived = weakref.WeakKeyDictionary()


def derived(query, key, build):
    """`build()`, made once per query object and `key`: a statement made from
    `query` (or a fact about it, such as whether it selects entities).

    SQLAlchemy computes a statement's cache key on every execution of a new
    statement object (about 180 us for the posts list, more than building it);
    reused, the key is computed once. So a list's query is built once per
    process (with bind parameters for its values, given at execution) and the
    statements derived from it here, keyed by what shapes them (the sort's name
    and direction, the mode): one query object must give a sort name one meaning.
    A query made per request makes its derived statements per request: the
    entries go with it.
    """
    made = _derived.setdefault(query, {})
    statement = made.get(key)
    if statement is None:
        statement = made[key] = build()
    return statement


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


def counting(query, id_column):
    """A count of the list's rows over ids only, never the computed columns."""
    return select(func.count()).select_from(ids_of(query, id_column).subquery())


def count_rows(query, id_column, params=None):
    """How many rows the list has, counted in a statement of its own."""
    statement = derived(query, ("count",), lambda: counting(query, id_column))
    return reading_connection().scalar(statement, params)


def _page_mode(query, args, sort, id_column, counter, params):
    page, per_page = args["page"], args["per_page"]
    offset, after, known = (page - 1) * per_page, False, None
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
    params.update(row_limit=per_page, row_offset=offset)
    if counted_with_page:
        items, total = fetch_with_total(statement, params)
    else:
        items, total = fetch(statement, params), known.total
    if total is None:  # past the last page, or the counter is unknown
        total = count_rows(query, id_column, params)
    pages = max(1, math.ceil(total / per_page))
    links = {"first": 1, "last": pages}
    if page > 1:
        links["prev"] = min(page - 1, pages)
    if page < pages:
        links["next"] = page + 1
    meta = {"page": page, "per_page": per_page, "total": total, "pages": pages}
    headers = {"Link": link_header({rel: {"page": n} for rel, n in links.items()})}
    return {"items": items, "meta": meta}, 200, headers


def cursor_query(query, sort, id_column, *, after):
    if after:
        query = query.where(sort.after(id_column))
    return bounded(query.order_by(*sort.order_by(id_column)))


def _cursor_mode(query, args, sort, id_column, key_of, params):
    per_page = args["per_page"]
    after = bool(args.get("cursor"))
    if after:
        params.update(sort.after_params(decode_cursor(args["cursor"], sort)))
    shape = ("cursor", sort.name, sort.descending, after)
    statement = derived(query, shape, lambda: cursor_query(query, sort, id_column, after=after))
    rows = fetch(statement, {**params, "row_limit": per_page + 1})
    items, has_more = rows[:per_page], len(rows) > per_page
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor([*key_of(last, sort), last.id], sort)
    headers = {}
    if next_cursor:
        headers["Link"] = link_header({"next": {"cursor": next_cursor}})
    return (
        {"items": items, "meta": {"per_page": per_page, "next_cursor": next_cursor}},
        200,
        headers,
    )


def list_fingerprint(sort):
    """What a cursor is bound to: this endpoint, its path, its filters and the sort."""
    filters = sorted(
        (k, v) for k, v in request.args.items(multi=True) if k not in PAGING_ARGS | {"sort"}
    )
    view_args = sorted(request.view_args.items())
    material = repr((request.endpoint, view_args, filters, sort.name, sort.descending))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _serializer():
    """The app's cursor signer, made once (its key derivation is per instance)."""
    serializer = current_app.extensions.get("folio.cursor")
    if serializer is None:
        serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="folio.cursor")
        current_app.extensions["folio.cursor"] = serializer
    return serializer


def encode_cursor(key, sort):
    values = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in key]
    return _serializer().dumps({"k": values, "f": list_fingerprint(sort)})


def decode_cursor(cursor, sort):
    try:
        payload = _serializer().loads(cursor)
    except BadData:
        raise BadRequest("The cursor is not valid.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), list):
        raise BadRequest("The cursor is not valid.")
    if payload.get("f") != list_fingerprint(sort):
        raise BadRequest("The cursor was made for another list, sort or filter.")
    return [datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in payload["k"]]


# What werkzeug's URL builder leaves unescaped in a query (werkzeug.urls._urlencode).
QUERY_SAFE = "!$'()*,/:;?@"


def link_header(relations):
    """RFC 8288 Link header: this URL with the given query arguments changed.

    The path is built once from the URL map; each link adds its query string
    (url_for per link cost about 15 us, and page mode writes up to four).
    """
    base = url_for(request.endpoint, **request.view_args, _external=True)
    parts = []
    for rel, changes in relations.items():
        args = {k: v for k, v in request.args.items() if k not in changes}
        args.update({k: v for k, v in changes.items() if v is not None})
        if "cursor" in changes:
            args.pop("page", None)
        url = f"{base}?{urlencode(args, safe=QUERY_SAFE)}" if args else base
        parts.append(f'<{url}>; rel="{rel}"')
    return ", ".join(parts)
