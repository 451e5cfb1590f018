"""Whole numbers read from client text (a path segment, an ETag), never by bare `int()`.

`int()` raises ValueError on a string of more than 4,300 digits (Python's
guard against quadratic-time conversion, sys.int_info), which would be a 500
wherever a client's digits meet it. Every number Folio reads this way is a
database INTEGER, so a string longer than the largest one names nothing and
is not converted at all.
"""

MAX_INTEGER = 2**31 - 1  # ids and revision counters are INTEGER columns
MAX_DIGITS = len(str(MAX_INTEGER))


def whole_number(text, maximum=MAX_INTEGER):
    """The value of `text` when it is ASCII digits naming at most `maximum`, else None.

    ("³".isdigit() is True too: only ASCII digits count.)
    """
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        return None
    value = int(text)
    return value if value <= maximum else None
