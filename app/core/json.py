"""Flask's JSON provider, backed by orjson.

Serialising a page of posts with the standard library took about a sixth of a
list request; orjson does the same work in a small fraction of the time. The
output is the same JSON except that non-ASCII text is sent as UTF-8 rather
than as \\u escapes. Datetimes are handed to Flask's own default (HTTP dates),
as before, rather than to orjson's ISO format: schemas already dump them as
strings, and anything else keeps its old shape.

Parsing stays with the standard library (orjson reads integers past 64 bits as
floats, silently), and every JSON body a request carries is read here: by the
arguments parser (app/core/api.py) and by `request.get_json` (login throttle,
idempotency). So this is the one place that refuses what parses but is no use
to any endpoint, with a 400 that says why, before code that would fail on it:
- nesting deeper than MAX_JSON_DEPTH (the deepest body Folio reads has 3
  levels; 500 levels made marshmallow's recursion fail, 100,000 the parser's);
- an integer of more than 4,300 digits (`int()` refuses it: sys.int_info), and
  numbers JSON cannot carry: NaN and Infinity (which the standard library
  reads, though they are not JSON) and 1e400 (read as infinity); orjson
  would refuse to write any of them back;
- a lone surrogate (`"\\ud800"`): JSON allows the escape, but it is no Unicode
  character, and UTF-8 (the database, password hashing, logs) cannot encode it.
Bodies are UTF-8 (RFC 8259), as webargs read them before.
"""

import json
import math
import re

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

MAX_JSON_DEPTH = 32  # arrays and objects inside one another, the outermost counted
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins the valid pairs
ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # how JSON text writes one

BASE_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class OrjsonProvider(DefaultJSONProvider):
    def options(self, *, sort_keys, indent):
        return (
            BASE_OPTIONS
            | (orjson.OPT_SORT_KEYS if sort_keys else 0)
            | (orjson.OPT_INDENT_2 if indent else 0)
        )

    def loads(self, s, **kwargs):
        """Parse a request's (or response's) JSON, refusing what no endpoint can use."""
        if isinstance(s, bytes):
            s = utf8_text(s)
        try:
            value = json.loads(s, parse_float=finite_float, parse_constant=not_a_number, **kwargs)
        except json.JSONDecodeError:
            raise  # malformed: the caller answers it (webargs: 400 with its message)
        except RecursionError:
            raise TooDeep() from None
        except ValueError as error:  # a number int() or JSON cannot carry
            detail = f"The JSON body holds a number that cannot be read: {error}."
            raise UnusableJSON(detail) from None
        check_depth(value, strings_may_hold_surrogates=may_hold_surrogates(s))
        return value

    def dumps(self, obj, **kwargs):
        options = self.options(
            sort_keys=kwargs.get("sort_keys", self.sort_keys), indent=kwargs.get("indent")
        )
        return orjson.dumps(
            obj, default=kwargs.get("default", self.default), option=options
        ).decode()

    def response(self, *args, **kwargs):
        """Like Flask's, minus a str round trip: orjson's bytes go straight out."""
        obj = self._prepare_response_obj(args, kwargs)
        indent = (self.compact is None and self._app.debug) or self.compact is False
        options = self.options(sort_keys=self.sort_keys, indent=indent)
        body = orjson.dumps(obj, default=self.default, option=options) + b"\n"
        return self._app.response_class(body, mimetype=self.mimetype)


class UnusableJSON(BadRequest):
    """Well-formed JSON that no endpoint can use: 400 with the reason."""


class TooDeep(UnusableJSON):
    description = f"The JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels)."


def finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def not_a_number(name):
    raise ValueError(f"{name} is not a JSON number")


def utf8_text(data):
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(f"Not UTF-8: {error.reason}", "", error.start) from None


def check_depth(value, *, strings_may_hold_surrogates):
    """Walk the parsed value without recursion (a deep one would overflow it),
    refusing lone surrogates on the way when there may be some."""
    check_text = refuse_lone_surrogate if strings_may_hold_surrogates else None
    pending = [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if check_text:
                check_text(value)
            continue
        if isinstance(value, dict):
            if check_text:
                for key in value:
                    check_text(key)
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise TooDeep()
        pending.extend((child, depth + 1) for child in children)


def may_hold_surrogates(text):
    """Whether the JSON text escapes a surrogate: UTF-8 cannot encode one, so only
    a \\u escape makes one. One look at the text spares one at every string:
    reading a 1 KB post costs 6 us (the standard library alone: 3), a 100 KB
    one 59 us (45), where looking at every string took 240."""
    return "\\" in text and ESCAPED_SURROGATE.search(text) is not None


def refuse_lone_surrogate(text):
    if not text.isascii() and LONE_SURROGATE.search(text):
        raise UnusableJSON(
            "The JSON body holds a lone surrogate (such as \\ud800): that is not Unicode text."
        )
