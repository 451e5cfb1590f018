"""psycopg's cursor, describing a result's columns only when they are read.

SQLAlchemy asks every result for its DBAPI `description`, but reads it only the
first time a statement runs: from then on it keeps the result's layout with the
compiled statement and checks only that a description exists. psycopg builds a
Column object per column each time it is asked: for a single post (17 columns)
that was 6.7% of the request's instructions (callgrind), spent on a list nobody
read.
"""

from collections.abc import Sequence

import psycopg


class DescribedOnDemand(psycopg.Cursor):
    """A psycopg cursor whose `description` builds its Column objects when first read."""

    @property
    def description(self):
        result = self.pgresult
        if result is None or not result.nfields:
            return super().description  # no rows, or psycopg's special cases
        return LazyDescription(self, result)


class LazyDescription(Sequence):
    """The columns of one result, built from the cursor on first access.

    The one difference from psycopg's list: the columns must be read while the
    cursor still holds that result (SQLAlchemy reads them at once, if at all).
    """

    __slots__ = ("_columns", "_cursor", "_result")

    def __init__(self, cursor, result):
        self._cursor, self._result, self._columns = cursor, result, None

    def __len__(self):
        return self._result.nfields

    def __getitem__(self, index):
        if self._columns is None:
            if self._cursor.pgresult is not self._result:
                raise RuntimeError("a description was read after its cursor moved on")
            self._columns = psycopg.Cursor.description.fget(self._cursor)
        return self._columns[index]

    def __repr__(self):
        return repr(list(self))
