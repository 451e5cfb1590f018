"""One pagination helper for every list endpoint: page mode and cursor mode.

A list view builds an unexecuted `select()` and hands it to `paginate` with
the validated query arguments and the endpoint's sort whitelist. The helper
orders (sort key, then id in the same direction), bounds, counts when asked,
applies OFFSET or a keyset condition, and builds the `{"items", "meta"}`
envelope with RFC 8288 `Link` headers.

- Page mode (`?page=N`): total and pages are counted; deep pages cost an OFFSET.
- Cursor mode (no `page`): keyset over (sort key, id), so inserts while a client
  scrolls cause no duplicates or gaps and a deep page costs what the first does.
  The cursor is signed (tamper-evident, opaque) and bound to the list, sort
  and filters it was made for; any other use is 400.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from marshmallow import Schema, fields, validate
from sqlalchemy import func, literal, select, tuple_
from werkzeug.exceptions import BadRequest

from app.extensions import db

MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
PAGING_ARGS = {"page", "per_page", "cursor"}


class PaginationArgs(Schema):
    """Query arguments every list takes; subclasses add filters and set `sort`."""

    page = fields.Integer(
        validate=validate.Range(1, MAX_PAGE), metadata={"description": "Page mode"}
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PER_PAGE))
    cursor = fields.String(
        validate=validate.Length(max=1000),
        metadata={"description": "Cursor mode: empty for the first page, then meta.next_cursor"},
    )


def sort_field(names, default):
    """A `sort` argument limited to `names`, each ascending or with `-` descending."""
    choices = [name for base in names for name in (base, f"-{base}")]
    return fields.String(load_default=default, validate=validate.OneOf(choices))


class PageMetaSchema(Schema):
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
            (Schema,),
            {
                "items": fields.List(fields.Nested(item_schema), required=True),
                "meta": fields.Nested(PageMetaSchema, required=True),
            },
        )
    return _envelopes[name]


@dataclass(frozen=True)
class Sort:
    name: str
    column: object
    descending: bool

    @classmethod
    def parse(cls, value, columns):
        name = value.removeprefix("-")
        return cls(name, columns[name], value.startswith("-"))

    def order_by(self, id_column):
        if self.descending:
            return self.column.desc(), id_column.desc()
        return self.column.asc(), id_column.asc()

    def after(self, id_column, key):
        """Rows strictly after `key` in this order (ties broken on id the same way)."""
        value, last_id = key
        # Typed literals, so dates bind exactly as the column stores them.
        bound = tuple_(literal(value, self.column.type), literal(last_id, id_column.type))
        row = tuple_(self.column, id_column)
        return row < bound if self.descending else row > bound


def paginate(query, args, *, sorts, id_column, key_of):
    """Run `query` for one page; returns (body, 200, headers) for a smorest view.

    `sorts` maps sort names to columns; `key_of(item, sort_name)` gives an item's
    value for the sort column (for the next cursor).
    """
    sort = Sort.parse(args["sort"], sorts)
    if args.get("page") is not None:
        return _page_mode(query, args, sort, id_column)
    return _cursor_mode(query, args, sort, id_column, key_of)


def _page_mode(query, args, sort, id_column):
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = (
        db.session.scalars(
            query.order_by(*sort.order_by(id_column)).limit(per_page).offset((page - 1) * per_page)
        )
        .unique()
        .all()
    )
    pages = max(1, math.ceil(total / per_page))
    links = {"first": 1, "last": pages}
    if page > 1:
        links["prev"] = min(page - 1, pages)
    if page < pages:
        links["next"] = page + 1
    meta = {"page": page, "per_page": per_page, "total": total, "pages": pages}
    headers = {"Link": link_header({rel: {"page": n} for rel, n in links.items()})}
    return {"items": items, "meta": meta}, 200, headers


def _cursor_mode(query, args, sort, id_column, key_of):
    per_page = args["per_page"]
    if args.get("cursor"):
        query = query.where(sort.after(id_column, decode_cursor(args["cursor"], sort)))
    rows = (
        db.session.scalars(query.order_by(*sort.order_by(id_column)).limit(per_page + 1))
        .unique()
        .all()
    )
    items, has_more = rows[:per_page], len(rows) > per_page
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor([key_of(last, sort.name), last.id], sort)
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
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="folio.cursor")


def encode_cursor(key, sort):
    values = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in key]
    return _serializer().dumps({"k": values, "f": list_fingerprint(sort)})


def decode_cursor(cursor, sort):
    try:
        payload = _serializer().loads(cursor)
    except BadData:
        raise BadRequest("The cursor is not valid.") from None
    if payload.get("f") != list_fingerprint(sort):
        raise BadRequest("The cursor was made for another list, sort or filter.")
    return [datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in payload["k"]]


def link_header(relations):
    """RFC 8288 Link header: this URL with the given query arguments changed."""
    parts = []
    for rel, changes in relations.items():
        args = {k: v for k, v in request.args.items() if k not in changes}
        args.update({k: v for k, v in changes.items() if v is not None})
        if "cursor" in changes:
            args.pop("page", None)
        url = url_for(request.endpoint, **request.view_args, **args, _external=True)
        parts.append(f'<{url}>; rel="{rel}"')
    return ", ".join(parts)
