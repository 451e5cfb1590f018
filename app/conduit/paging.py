"""Conduit's lists: `limit` and `offset`, and the total count beside the page.

Conduit pages by offset and reports `articlesCount`, the number of matching
rows on every page together (not the length of this one), so a client can
draw page links. Folio's own lists use app.core.pagination instead.
"""

from app.core.pagination import bounded, count_rows, derived, fetch, maintained


def window(query, *order, limit, offset=0, params=None):
    """The rows of `query` from `offset`, at most `limit` of them, in `order`.

    The statement is made once per query object (see pagination.derived): a
    query built once per process must always come with the same `order`.
    """
    statement = derived(
        query, ("window", offset > 0), lambda: bounded(query.order_by(*order), offset=offset > 0)
    )
    return fetch(statement, {**(params or {}), "row_limit": limit, "row_offset": offset})


def counted_window(query, args, *order, id_column, known_total=None, params=None):
    """(one page by `args["limit"]` and `args["offset"]`, the total count).

    `known_total` as for app.core.pagination.paginate: a maintained count, if any.
    """
    total = count_rows(query, id_column, maintained(known_total), params)
    page = window(query, *order, limit=args["limit"], offset=args["offset"], params=params)
    return page, total
