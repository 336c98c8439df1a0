# The knowledge base behind gunicorn. Build: docker build -t kb .
# BASE can point at a mirror of the same image where Docker Hub is out of reach,
# or at any image with Python 3.11+ and its venv module (Debian bookworm with
# python3-venv works: deploy/check_stack.py builds one without Docker Hub).
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KB_INDEX_DIR=/data/index \
    KB_LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/kb-metrics \
    PATH=/opt/venv/bin:$PATH

# The app lives in its own virtualenv, so the base image's Python packages
# (Debian's are managed by apt) are never touched.
RUN python3 -m venv /opt/venv \
    && useradd --system --create-home --home-dir /home/kb kb \
    && mkdir -p /data/index && chown -R kb:kb /data
WORKDIR /app

# An editable install: templates/ and static/ are found beside kb/ in /app.
COPY pyproject.toml README.md ./
COPY kb ./kb
COPY templates ./templates
COPY static ./static
RUN pip install -e ".[deploy]" && mkdir -p /app/instance && chown kb:kb /app/instance

USER kb
VOLUME ["/data"]
EXPOSE 8000
# Upgrade the schema, start with an empty metrics folder (stale samples of
# dead workers would be added up otherwise), then serve. WEB_CONCURRENCY sets
# gunicorn's worker count.
CMD ["sh", "-c", "kb init && rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec gunicorn --bind 0.0.0.0:8000 --workers \"${WEB_CONCURRENCY:-2}\" 'kb:create_app()'"]
