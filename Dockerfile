# Folio's production image: gunicorn serving wsgi:app as a non-root user.
#
#   docker build -t folio .
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -e JWT_SECRET_KEY=... \
#       -e TRUSTED_HOSTS=api.example.com -p 8000:8000 folio
#
# Run `flask --app wsgi db upgrade` once per release before the new version
# serves (docker-compose.yml does it on start; see the README).

# Build stage: install the pinned dependencies into a virtualenv, so the
# final image carries no pip cache and no build leftovers.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && pip check

# Runtime stage.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 folio \
    && useradd --system --uid 10001 --gid folio --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin folio
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only to the app: a compromised worker cannot change code.
COPY . .
RUN python -m compileall -q app config.py wsgi.py gunicorn.conf.py
USER folio
EXPOSE 8000
# Liveness only: readiness (/health/ready) depends on the database, and a
# database outage must not get healthy API containers restarted. The check
# names the first of TRUSTED_HOSTS: Folio refuses (400) any other Host.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('TRUSTED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); r.urlopen(r.Request('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), headers={'Host': host}), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
