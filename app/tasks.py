"""Celery for Folio's background work: the outbox's delivery task and its sweep.

`init_celery(app)` binds a Celery app to a Flask app (app.extensions["celery"])
when a broker is configured; every task runs in that Flask app's context. The
worker process is `celery -A worker:celery worker --beat` (worker.py at the root);
beat runs the same delivery task every OUTBOX_SWEEP_SECONDS, which is the
sweep that picks up anything a lost wake-up missed.
"""

from celery import Celery, Task

from app.services import outbox


def init_celery(app):
    broker = app.config["CELERY_BROKER_URL"]
    if not broker:
        return None

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker,
        # No result backend: the outbox row is the result.
        task_ignore_result=True,
        # A request must not hang on a broker that is away: one try, then the sweep.
        task_publish_retry=False,
        broker_connection_timeout=2,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        broker_connection_retry_on_startup=True,
        # A task is acknowledged after it ran: a killed worker's task runs again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        beat_schedule={
            "outbox-sweep": {
                "task": outbox.DELIVER_TASK,
                "schedule": float(app.config["OUTBOX_SWEEP_SECONDS"]),
            }
        },
    )

    @celery.task(name=outbox.DELIVER_TASK)
    def deliver():
        return outbox.deliver_pending(app)

    app.extensions["celery"] = celery
    return celery
