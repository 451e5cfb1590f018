"""Liveness and readiness for load balancers and orchestrators."""

import logging

from flask import current_app
from marshmallow import fields
from sqlalchemy import text

from app.core.api import Blueprint
from app.core.errors import problem
from app.core.openapi import problems
from app.core.replicas import replica_set
from app.extensions import db
from app.schemas.base import OutputSchema

log = logging.getLogger("folio.ops")
blp = Blueprint("health", __name__, url_prefix="/health", description="Liveness and readiness")


class HealthSchema(OutputSchema):
    status = fields.String(metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    replicas = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "With DATABASE_REPLICA_URLS: each replica (host:port/database) "
            "ok, lagging or down; reads skip those not ok, so they never fail readiness"
        },
    )


def database_answers():
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not ready"; the reason is logged
        log.warning("readiness: database check failed: %s", error)
        db.session.rollback()
        return False


def redis_answers(url):
    from redis import Redis

    try:
        client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as error:
        log.warning("readiness: redis check failed: %s", error)
        return False


@blp.route("")
@blp.response(200, HealthSchema)
def liveness():
    """Liveness: the process is up."""
    return {"status": "ok", "checks": {}}


@blp.route("/ready")
@blp.response(200, HealthSchema)
@problems(503)
def readiness():
    """Readiness: the database (and Redis, when configured) answer.

    503 problem details when one does not; `checks` names which. Replicas are
    reported apart (`replicas`) and never fail it: reads skip a replica that
    is down and go to the primary.
    """
    checks = {"database": "ok" if database_answers() else "down"}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = "ok" if redis_answers(current_app.config["REDIS_URL"]) else "down"
    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        return problem(503, f"Not ready: {', '.join(down)} down.", checks=checks)
    ready = {"status": "ok", "checks": checks}
    if (replicas := replica_set()) is not None:
        ready["replicas"] = replicas.states()
    return ready
