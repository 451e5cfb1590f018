"""Conduit's lists: `limit` and `offset`, and the total count beside the page.

Conduit pages by offset and reports `articlesCount`, the number of matching
rows on every page together (not the length of this one), so a client can
draw page links. Folio's own lists use app.core.pagination instead.
"""

from app.core.pagination import count_rows, fetch


def window(query, *order, limit, offset=0):
    """The rows of `query` from `offset`, at most `limit` of them, in `order`."""
    return fetch(query.order_by(*order).limit(limit).offset(offset))


def counted_window(query, args, *order, id_column, known_total=None):
    """(one page by `args["limit"]` and `args["offset"]`, the total count).

    `known_total` as for app.core.pagination.paginate: a maintained count, if any.
    """
    total = count_rows(query, id_column, known_total)
    return window(query, *order, limit=args["limit"], offset=args["offset"]), total
