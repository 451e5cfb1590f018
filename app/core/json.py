"""Flask's JSON provider, backed by orjson.

Serialising a page of posts with the standard library took about a sixth of a
list request; orjson does the same work in a small fraction of the time. The
output is the same JSON except that non-ASCII text is sent as UTF-8 rather
than as \\u escapes. Datetimes are handed to Flask's own default (HTTP dates),
as before, rather than to orjson's ISO format: schemas already dump them as
strings, and anything else keeps its old shape. Parsing stays with the
standard library, whose errors the error handlers already know.
"""

import orjson
from flask.json.provider import DefaultJSONProvider

BASE_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class OrjsonProvider(DefaultJSONProvider):
    def options(self, *, sort_keys, indent):
        return (
            BASE_OPTIONS
            | (orjson.OPT_SORT_KEYS if sort_keys else 0)
            | (orjson.OPT_INDENT_2 if indent else 0)
        )

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
