"""Conduit's lists: `limit` and `offset`, and the total count beside the page.

Conduit pages by offset and reports `articlesCount`, the number of matching
rows on every page together (not the length of this one), so a client can
draw page links. Folio's own lists use app.core.pagination instead.
"""

from app.core.pagination import bounded, count_rows, derived, fetch, fetch_with_total, with_total


def window(query, *order, limit, offset=0, params=None):
    """The rows of `query` from `offset`, at most `limit` of them, in `order`.

    The statement is made once per query object (see pagination.derived): a
    query built once per process must always come with the same `order`.
    """
    statement = derived(
        query, ("window", offset > 0), lambda: bounded(query.order_by(*order), offset=offset > 0)
    )
    return fetch(statement, window_params(limit, offset, params))


def counted_window(query, args, *order, id_column, counter=None, params=None):
    """(one page by `args["limit"]` and `args["offset"]`, the total count): one
    statement, and a second to count only past the last page.

    `counter` as for app.core.pagination.paginate: a maintained count, if any.
    """
    offset = args["offset"]

    def build():
        page = bounded(query.order_by(*order), offset=offset > 0)
        return with_total(page, query, id_column, counter)

    statement = derived(query, ("counted window", offset > 0, counter), build)
    page, total = fetch_with_total(statement, window_params(args["limit"], offset, params))
    if total is None:  # past the last page, or the counter is unknown
        total = count_rows(query, id_column, params)
    return page, total


def window_params(limit, offset, params):
    return {**(params or {}), "row_limit": limit, "row_offset": offset}
