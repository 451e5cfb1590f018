"""Paging policy for every list endpoint: page mode and cursor mode, over HTTP.

A list view returns `paginate(rows, args)`: `rows` describes the list's rows
(app/services/listing.py's `Listing`: its `sort`, `page`, `after` and `key_of`),
`args` are the validated query arguments (app/schemas/pagination.py). This
module decides what the arguments mean and builds the `{"items", "meta"}`
envelope with RFC 8288 `Link` headers; the SQL is the listing's.

- Page mode (`?page=N`): total and pages are exact; links to first, last, and
  the pages around this one.
- Cursor mode (no `page`): the next cursor is the last item's key. The cursor
  is signed (tamper-evident, opaque) and bound to the list, sort and filters
  it was made for; any other use is 400.
"""

import hashlib
import math
from datetime import datetime
from urllib.parse import urlencode

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from werkzeug.exceptions import BadRequest

PAGING_ARGS = {"page", "per_page", "cursor"}


def paginate(rows, args):
    """One page of `rows` for a smorest view: (body, 200, headers)."""
    sort = rows.sort(args.get("sort"))
    if args.get("page") is not None:
        return page_mode(rows, sort, args["page"], args["per_page"])
    return cursor_mode(rows, sort, args.get("cursor"), args["per_page"])


def page_mode(rows, sort, page, per_page):
    items, total = rows.page(sort, page, per_page)
    pages = max(1, math.ceil(total / per_page))
    links = {"first": 1, "last": pages}
    if page > 1:
        links["prev"] = min(page - 1, pages)
    if page < pages:
        links["next"] = page + 1
    meta = {"page": page, "per_page": per_page, "total": total, "pages": pages}
    headers = {"Link": link_header({rel: {"page": n} for rel, n in links.items()})}
    return {"items": items, "meta": meta}, 200, headers


def cursor_mode(rows, sort, cursor, per_page):
    key = decode_cursor(cursor, sort) if cursor else None
    if key is not None and len(key) != sort.key_length:
        raise BadRequest("The cursor was made for another list, sort or filter.")
    found = rows.after(sort, key, per_page + 1)
    items, has_more = found[:per_page], len(found) > per_page
    next_cursor = encode_cursor(rows.key_of(items[-1], sort), sort) if has_more else None
    headers = {"Link": link_header({"next": {"cursor": next_cursor}})} if next_cursor else {}
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
