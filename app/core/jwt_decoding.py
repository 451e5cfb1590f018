"""A token decoded once per request, whoever asks: the one seam over
flask-jwt-extended's decoding.

Two readers decode the bearer token of a request: the rate limiter's key
function (`rate_limits.client_key`, before the view, to count a signed-in
user's requests under their id) and flask-jwt-extended's
`verify_jwt_in_request` (in the view's decorator). Each decode is PyJWT's work
on the whole token several times over (unverified claims, header, verified
claims); the second one is the same work on the same string.

`DecodedOncePerRequest` keeps what `_decode_jwt_from_config` returned for
the request (in its WSGI environ: `g` can outlive a request when an app
context was already pushed, as in tests), keyed by every argument, and answers a second call from
it. Only successes are kept: an invalid or expired token raises every time, as
before. It overrides flask-jwt-extended's one private method through which every
decode passes (`decode_token` calls it); tests/test_jwt_decoding.py fails if
that method goes away or a request decodes twice.

Measured (bench/instructions.py, callgrind, shipped settings): a signed-in
single post took 8.45 to 8.66 million instructions a request with two decodes
and 7.27 to 7.71 million with one, over three runs each (about -12%).
"""

from flask import has_request_context, request
from flask_jwt_extended import JWTManager


class DecodedOncePerRequest(JWTManager):
    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if not has_request_context():  # a CLI command, a test helper
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        key = (encoded_token, csrf_value, allow_expired)
        decoded = request.environ.setdefault("folio.decoded_tokens", {})
        if key not in decoded:
            decoded[key] = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        return decoded[key]
