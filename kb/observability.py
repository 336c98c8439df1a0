"""Request ids, JSON logs and Prometheus metrics.

Every request gets an id: the caller's X-Request-ID when it is a sane token
(a proxy or another service can then follow one request through every log),
otherwise a new one. It is echoed in the response's X-Request-ID header and,
with KB_LOG_FORMAT=json, is a field of every log line written while the
request runs.

GET /metrics serves Prometheus text: request latency by endpoint and status,
the search outbox lag in changes and the index's documents and bytes on disk.
Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR to an empty
directory writable by the workers (cleared before each start): each worker
then writes its samples there and any worker's /metrics adds them up.

/metrics shows how the app is used, so it is not public: it answers a bearer
token equal to KB_METRICS_TOKEN, or a client whose address is in
KB_METRICS_NETWORKS (comma-separated CIDRs; none by default, since behind a
reverse proxy on the same host every client would look local). Anyone else
gets 403.
"""

import hmac
import ipaddress
import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

HEADER = "X-Request-ID"
# A caller's id is kept only when it is a short token: it goes into headers and logs.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

REQUEST_SECONDS = Histogram(
    "kb_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

log = logging.getLogger("kb.request")


def request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


# --- logs -----------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and
    any structured fields passed with `extra=`."""

    FIELDS = ("method", "path", "status", "duration_ms", "endpoint", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and test runners
    replace it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _configure_json_logs(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        # Replace plain handlers so no line goes out twice in two formats.
        for existing in list(root.handlers):
            root.removeHandler(existing)
        root.addHandler(handler)
    root.setLevel(level)


def remove_json_logs() -> None:
    """Undo _configure_json_logs (for tests that build several apps)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)


# --- metrics --------------------------------------------------------------------


class IndexCollector:
    """Search index figures, read when Prometheus scrapes (not per request)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from kb import search

        lag = GaugeMetricFamily(
            "kb_search_outbox_lag_changes", "Changes in the outbox not yet in this index."
        )
        documents = GaugeMetricFamily("kb_search_index_documents", "Documents in the index.")
        size = GaugeMetricFamily("kb_search_index_bytes", "Bytes of the index folder on disk.")
        with self.app.app_context():
            status = search.index_status()
            folder = Path(self.app.config["KB_INDEX_DIR"])
        if status.get("outbox_lag") is not None:
            lag.add_metric([], status["outbox_lag"])
        if status.get("documents") is not None:
            documents.add_metric([], status["documents"])
        size.add_metric([], _folder_bytes(folder))
        yield from (lag, documents, size)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue  # a segment merged away while we looked
    return total


def _may_read_metrics() -> bool:
    token = current_app.config.get("KB_METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in network for network in current_app.config["KB_METRICS_NETWORKS"])


def metrics() -> Response:
    if not _may_read_metrics():
        return Response(
            "Metrics are served with the metrics token or to configured networks.\n",
            403,
            mimetype="text/plain",
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(IndexCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


# --- wiring ---------------------------------------------------------------------


def _networks(value) -> list:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return [ipaddress.ip_network(part, strict=False) for part in value]


def init_app(app: Flask) -> None:
    app.config["KB_METRICS_NETWORKS"] = _networks(app.config.get("KB_METRICS_NETWORKS", ""))
    if app.config.get("KB_LOG_FORMAT") == "json":
        _configure_json_logs(app.config.get("KB_LOG_LEVEL", "INFO"))

    def start_timer():
        g.request_started = time.perf_counter()
        request_id()

    # First of all hooks, so that lines logged by the others carry the id.
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)

    @app.after_request
    def record(response):
        started = g.get("request_started")
        elapsed = time.perf_counter() - started if started is not None else 0.0
        endpoint = request.endpoint or "unmatched"  # 404s share one series
        REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(elapsed)
        response.headers[HEADER] = request_id()
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "endpoint": endpoint,
                "remote_addr": request.remote_addr,
            },
        )
        return response

    app.add_url_rule("/metrics", "metrics", metrics)
