"""`kb run --demo`, the README's `make run`: on an empty database it creates
the schema and the demo data, then serves them; a demo user signs in and
finds debriefs."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from kb.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD

START_TIMEOUT_S = 300  # the demo data takes a while on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(server: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"kb run stopped:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    raise AssertionError(f"kb run did not serve within {START_TIMEOUT_S} s")


def test_kb_run_demo_serves_the_demo_data(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'kb.sqlite3'}",
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "KB_SECRET_KEY": "run-demo-test",
    }
    kb = Path(sys.executable).with_name("kb")
    server = subprocess.Popen(  # noqa: S603 (our own command)
        [str(kb), "run", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(server, base)
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        login = browser.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        form = {"csrf_token": token, "email": f"rita.rep@{DEMO_DOMAIN}", "password": DEMO_PASSWORD}
        home = browser.open(f"{base}/login", urllib.parse.urlencode(form).encode())
        assert home.geturl() == f"{base}/"
        assert "Rita Rep" in home.read().decode()
        results = browser.open(f"{base}/search?q=price").read().decode()
        found = re.search(r"of ([\d,]+) debriefs?", results)
        assert found and int(found.group(1).replace(",", "")) > 0, results[:2000]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Database ready at schema" in output
