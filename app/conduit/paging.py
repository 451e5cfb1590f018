"""Conduit's lists: `limit` and `offset`, and the total count beside the page.

Conduit pages by offset and reports `articlesCount`, the number of matching
rows on every page together (not the length of this one), so a client can
draw page links. Folio's own lists use app.core.pagination instead.
"""

from app.core.pagination import (
    bounded,
    count_rows,
    derived,
    fetch,
    fetch_with_total,
    page_query,
    with_total,
)


def window(query, *order, limit, offset=0, params=None):
    """The rows of `query` from `offset`, at most `limit` of them, in `order`.

    The statement is made once per query object (see pagination.derived): a
    query built once per process must always come with the same `order`.
    """
    statement = derived(
        query, ("window", offset > 0), lambda: bounded(query.order_by(*order), offset=offset > 0)
    )
    return fetch(statement, window_params(limit, offset, params))


def counted_window(query, args, sort, *, id_column, counter=None, params=None):
    """(one page by `args["limit"]` and `args["offset"]` in `sort`, the total count):
    one statement, and a second to count only past the last page.

    The page's ids are found first, by OFFSET over ids alone, and the columns
    (author, tags, counts) computed for those rows only, as /api/v1's page mode
    does: with the OFFSET over the whole select, offset 2,000 of 100,000 posts
    computed them for every skipped row (62 ms against 2 ms for the first page,
    in process). `counter` as for app.core.pagination.paginate.
    """
    offset = args["offset"]

    def build():
        page = page_query(query, sort, id_column, offset=offset > 0)
        return with_total(page, query, id_column, counter)

    statement = derived(query, ("counted window", offset > 0, counter), build)
    page, total = fetch_with_total(statement, window_params(args["limit"], offset, params))
    if total is None:  # past the last page, or the counter is unknown
        total = count_rows(query, id_column, params)
    return page, total


def window_params(limit, offset, params):
    return {**(params or {}), "row_limit": limit, "row_offset": offset}
