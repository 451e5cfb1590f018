"""The Celery worker's entry point: `celery -A worker:celery worker --beat`.

Same configuration as the web process (APP_ENV and the environment); the
broker is CELERY_BROKER_URL, default REDIS_URL.
"""

from app import create_app
from config import load_config

app = create_app(load_config(serving=False))
celery = app.extensions["celery"]
