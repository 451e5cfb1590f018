"""The RealWorld (Conduit) blueprint (/api): the Conduit spec, served from Folio's models.

A Conduit article is a published post, a profile is a user, and every view
calls the same services as /api/v1, so both blueprints obey the same rules
(visibility, ownership, revocation, throttling). What differs is only the
edge: Conduit's JSON shapes (`schemas`), its `Authorization: Token` scheme
(`auth`) and its error body (`errors`), all confined to this blueprint.
"""

from app.conduit.auth import accept_token_scheme
from app.conduit.errors import ERROR_DIALECT, conduit_errors, register_unmatched_errors
from app.conduit.routing import add_converter
from app.core.api import Blueprint
from app.core.openapi import register_error_dialect

blp = Blueprint(
    "conduit",
    __name__,
    description=(
        "RealWorld (Conduit) API. Send `Authorization: Token <token>` (or `Bearer`), "
        "with the token from register or login (a Folio access token). Errors are "
        '`{"errors": {"field": [...]}}`, with `body` for the request as a whole.'
    ),
)
blp.record_once(add_converter)  # before the routes that use it are added
blp.before_request(accept_token_scheme)
blp.after_request(conduit_errors)
blp.record_once(register_unmatched_errors)
register_error_dialect(blp.name, ERROR_DIALECT)

# The modules register their views on blp.
from app.conduit import articles, comments, profiles, tags, users  # noqa: E402,F401
