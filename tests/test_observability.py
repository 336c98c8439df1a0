"""Request ids, JSON logs and /metrics."""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kb.observability import remove_json_logs

TOKEN = "metrics-secret-token"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "KB_LOG_FORMAT": "json", "KB_METRICS_TOKEN": TOKEN}


@pytest.fixture(autouse=True)
def _plain_logs_after():
    yield
    remove_json_logs()
    logging.getLogger().setLevel(logging.WARNING)


def _metrics(client, **headers):
    return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})


def test_a_callers_request_id_is_echoed_and_a_new_one_made_otherwise(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42"})
    assert response.headers["X-Request-ID"] == "edge-7f3a.42"

    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and first != second

    # An id that could forge log lines or headers is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" injected\tline'})
    assert forged.headers["X-Request-ID"] != 'x" injected\tline'
    assert len(forged.headers["X-Request-ID"]) == 32


def test_every_log_line_of_a_request_is_json_with_its_id(app, client, capsys):
    @app.get("/_log_twice")
    def log_twice():
        app.logger.warning("first thing")
        logging.getLogger("kb.search").info("second thing")
        return "ok"

    capsys.readouterr()
    response = client.get("/_log_twice", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [line["message"] for line in lines] == [
        "first thing",
        "second thing",
        "GET /_log_twice 200",
    ]
    assert {line["request_id"] for line in lines} == {"req-123"}
    access = lines[-1]
    assert access["logger"] == "kb.request" and access["status"] == 200
    assert access["path"] == "/_log_twice" and access["duration_ms"] >= 0
    assert lines[0]["level"] == "WARNING" and lines[0]["time"].endswith("+00:00")


def test_metrics_hold_the_latency_of_a_request_and_the_index(client):
    assert client.get("/healthz").status_code == 200
    response = _metrics(client)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.text)}

    latency = families["kb_request_duration_seconds"]
    counts = {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"]): s.value
        for s in latency.samples
        if s.name == "kb_request_duration_seconds_count"
    }
    assert counts[("health.healthz", "GET", "200")] >= 1
    assert families["kb_search_outbox_lag_changes"].samples[0].value == 0
    assert families["kb_search_index_documents"].samples[0].value >= 0
    assert families["kb_search_index_bytes"].samples[0].value > 0


def test_a_page_that_does_not_exist_is_one_series(client):
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    families = {f.name: f for f in text_string_to_metric_families(_metrics(client).text)}
    endpoints = {s.labels["endpoint"] for s in families["kb_request_duration_seconds"].samples}
    assert "unmatched" in endpoints
    assert not any("/no/such" in e for e in endpoints)


def test_metrics_need_the_token_or_a_configured_network(client, app, users, auth):
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "metrics token" in refused.text
    assert _metrics(client).status_code == 200
    wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 403
    # A signed-in admin is not enough either: metrics are for the monitoring system.
    assert auth.login(users.admin.email).status_code == 302
    assert client.get("/metrics").status_code == 403

    from kb.observability import _networks

    app.config["KB_METRICS_NETWORKS"] = _networks("10.0.0.0/8, ::1/128")
    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.5"})
    assert inside.status_code == 200 and outside.status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_workers_add_up_their_samples_in_multiprocess_mode(database_url, tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set, /metrics from any worker counts the
    requests every worker answered, including workers since replaced."""
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        pytest.skip("gunicorn (the deploy extra) is not installed")
    (tmp_path / "metrics").mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "KB_DATABASE_URL": database_url,
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "KB_SECRET_KEY": "test-secret",
        "KB_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    server = subprocess.Popen(  # noqa: S603 (our own server, fixed arguments)
        # Workers are replaced after 4 requests: the samples of those that
        # have gone are still counted.
        [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--max-requests", "4"]
        + ["kb:create_app()"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        asked = 0
        for _ in range(100):
            asked += 1
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=30)  # noqa: S310
                break
            except OSError:  # not listening yet, or 503 while the index is built
                time.sleep(0.2)
        for _ in range(11):
            urllib.request.urlopen(f"{base}/healthz", timeout=30)  # noqa: S310
        scrape = urllib.request.Request(  # noqa: S310
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        text = urllib.request.urlopen(scrape, timeout=30).read().decode()  # noqa: S310
    finally:
        server.terminate()
        server.wait(timeout=30)
    answered = sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "kb_request_duration_seconds_count"
        and s.labels["endpoint"] == "health.healthz"
    )
    # Every answered request, whichever worker answered it (refused
    # connections before the server listened are not requests).
    assert 12 <= answered <= asked + 11
    assert len(list((tmp_path / "metrics").glob("histogram_*.db"))) >= 3
