"""Extension singletons, created unbound here and bound to an app in create_app."""

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.core.api import FolioApi
from app.core.jwt_decoding import DecodedOncePerRequest
from app.core.rate_limits import client_key, exempt
from app.models import Model

db = SQLAlchemy(model_class=Model)
migrate = Migrate(render_as_batch=True, compare_type=True)
jwt = DecodedOncePerRequest()
api = FolioApi()
# Settings (storage, defaults, fallbacks) come from the RATELIMIT_* config keys;
# keys, exemptions and the rationale are in app/core/rate_limits.py.
limiter = Limiter(key_func=client_key)
limiter.request_filter(exempt)
