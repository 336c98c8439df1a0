#!/usr/bin/env python3
"""Build the image, start the compose stack and use it as a person would.

    sudo python3 deploy/check_stack.py            # from the repository root or anywhere

Steps: build the app image from ./Dockerfile, start compose.yaml (PostgreSQL,
Redis, the app behind gunicorn, the indexer), create the first admin with
`kb create-user` inside the web container, sign in through the login form,
create an API token on the API tokens page, file a debrief through
`POST /api/v1/debriefs` with that token, and search for it through the API
and the search page until the indexer container has indexed it. The stack,
its volumes and the app image are removed at the end, whatever happened.

Images: with `--images hub` the stack runs as published (python:3.11-slim,
postgres:16, redis:7-alpine from Docker Hub). With `--images debian` every
image is built locally from a Debian bookworm root made by debootstrap
(Debian's Python 3.11, PostgreSQL 15 and Redis 7; deploy/check/ holds their
Dockerfiles and a compose override), for machines that reach Debian's mirror
and PyPI but not Docker Hub. `auto` (the default) uses the Hub images when
they are present or can be pulled, Debian's otherwise. The Debian-based
images (kb-check/debian, kb-check/python, kb-check/postgres, kb-check/redis)
stay in the engine's image store as a cache for the next run; `--clean`
removes them too.

Exit status: 0 when the stack worked, 1 when a step failed, 77 when no usable
container engine or compose client is there (the test suite then skips).
Only the Docker engine with `docker compose` or Debian's `docker-compose`
is supported.
"""

# It runs the container tools by name with fixed arguments, and talks HTTP to
# the stack it started on 127.0.0.1:
# ruff: noqa: S603, S607, S310

from __future__ import annotations

import argparse
import html
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "deploy" / "check"
PROJECT = "kbcheck"
APP_IMAGE = "kb-check/kb:latest"
DEBIAN_IMAGE = "kb-check/debian:bookworm"
PYTHON_IMAGE = "kb-check/python:bookworm"
LOCAL_IMAGES = {  # tag -> folder under deploy/check
    PYTHON_IMAGE: "python",
    "kb-check/postgres:15": "postgres",
    "kb-check/redis:7": "redis",
}
HUB_IMAGES = ("python:3.11-slim", "postgres:16", "redis:7-alpine")
SKIP = 77
ADMIN_EMAIL = "admin@example.com"


class Unavailable(Exception):
    """No usable engine here: the check cannot run (exit 77)."""


class Failed(Exception):
    """The stack was built or started but did not work."""


_start = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _start:6.1f}s] {message}", flush=True)


def run(args, *, check=True, capture=False, input=None, timeout=None, env=None):
    """Run a command, echoing it; output goes to ours unless captured."""
    say("$ " + " ".join(str(a) for a in args))
    result = subprocess.run(
        [str(a) for a in args],
        input=input,
        text=True,
        capture_output=capture,
        timeout=timeout,
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-2000:] if capture else ""
        raise Failed(f"{args[0]} {args[1]} exited with {result.returncode}. {detail}".strip())
    return result


def quiet(args, timeout=60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(args, 1, "", str(exc))


# -- engine ----------------------------------------------------------------


def find_engine() -> list[str]:
    """The compose command to use; raises Unavailable with the reason."""
    if not shutil.which("docker"):
        raise Unavailable("no `docker` command on PATH")
    info = quiet(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0:
        reason = (info.stderr or info.stdout).strip().splitlines()[-1:] or ["no answer"]
        raise Unavailable(f"the Docker daemon does not answer: {reason[0]}")
    say(f"Docker engine {info.stdout.strip()}")
    if quiet(["docker", "compose", "version"]).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") and quiet(["docker-compose", "version"]).returncode == 0:
        return ["docker-compose"]
    raise Unavailable("neither `docker compose` nor `docker-compose` is installed")


def image_exists(tag: str) -> bool:
    return quiet(["docker", "image", "inspect", tag]).returncode == 0


def image_id(tag: str) -> str:
    found = quiet(["docker", "image", "inspect", "--format", "{{.Id}}", tag])
    return found.stdout.strip() if found.returncode == 0 else ""


def hub_images_available() -> bool:
    missing = [tag for tag in HUB_IMAGES if not image_exists(tag)]
    for tag in missing:
        say(f"pulling {tag}")
        pulled = quiet(["docker", "pull", tag], timeout=300)
        if pulled.returncode != 0:
            say(f"cannot pull {tag}: {(pulled.stderr or pulled.stdout).strip()[-300:]}")
            return False
    return True


def build_debian_root() -> None:
    """kb-check/debian:bookworm from a minimal debootstrap root, unless cached."""
    if image_exists(DEBIAN_IMAGE):
        say(f"{DEBIAN_IMAGE} is cached")
        return
    if not shutil.which("debootstrap"):
        raise Unavailable(
            "Docker Hub is out of reach and debootstrap is missing "
            "(apt-get install debootstrap) to build a local base image"
        )
    if os.geteuid() != 0:
        raise Unavailable("debootstrap needs root to build the local base image")
    mirror = os.environ.get("KB_CHECK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="kb-check-root-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror], capture=True)
        say(f"importing the root as {DEBIAN_IMAGE}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", DEBIAN_IMAGE], stdin=tar.stdout, capture_output=True
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise Failed(f"docker import failed: {imported.stderr.decode()[-500:]}")


def build_local_image(tag: str, folder: str) -> None:
    with tempfile.TemporaryDirectory(prefix="kb-check-ctx-") as tmp:
        context = Path(tmp)
        shutil.copytree(CHECK / folder, context, dirs_exist_ok=True)
        if folder == "python":
            # The host's own certificate authorities, for pip behind a
            # TLS-inspecting proxy.
            (context / "ca").mkdir()
            for crt in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
                shutil.copy(crt, context / "ca" / crt.name)
        args = ["docker", "build", "-q", "--build-arg", f"BASE={DEBIAN_IMAGE}", "-t", tag, context]
        run(args, capture=True)
        say(f"built {tag}")


def build_local_images(rebuild: bool) -> None:
    """The Debian-based images, built side by side, unless cached."""
    build_debian_root()
    wanted = {
        tag: folder for tag, folder in LOCAL_IMAGES.items() if rebuild or not image_exists(tag)
    }
    for tag in LOCAL_IMAGES.keys() - wanted.keys():
        say(f"{tag} is cached")
    with ThreadPoolExecutor(max_workers=3) as pool:
        for done in [pool.submit(build_local_image, tag, folder) for tag, folder in wanted.items()]:
            done.result()


# -- HTTP ------------------------------------------------------------------


class Browser:
    """Just enough of a browser: cookies, redirects, form fields."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path, *, data=None, json_body=None, token=None, timeout=30):
        headers = {"Accept": "text/html,application/json"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        opener = self.opener if token is None else urllib.request.build_opener()
        try:
            with opener.open(req, timeout=timeout) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode(errors="replace")

    def csrf(self, page: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        if not found:
            raise Failed("no CSRF token in the form")
        return html.unescape(found.group(1))


def exited_containers() -> list[str]:
    """Containers of the stack that stopped (both compose clients set this label)."""
    listed = quiet(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}",
            "--filter",
            "status=exited",
            "--format",
            "{{.Names}}",
        ]
    )
    return listed.stdout.split()


def wait_healthy(browser: Browser, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if stopped := exited_containers():
            raise Failed(f"stopped before the app was healthy: {', '.join(stopped)}")
        try:
            status, _, body = browser.request("/healthz", timeout=5)
            last = f"{status} {body[:300]}"
            if status == 200:
                return json.loads(body)
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(2)
    raise Failed(f"/healthz not ok after {timeout:.0f} s: {last}")


def use_the_stack(compose: list[str], browser: Browser, search_timeout: float) -> None:
    password = secrets.token_urlsafe(16)
    run(
        [
            *compose,
            "exec",
            "-T",
            "web",
            "kb",
            "create-user",
            ADMIN_EMAIL,
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=password + "\n",
    )

    say("signing in through the login form")
    status, url, page = browser.request("/login")
    if status != 200:
        raise Failed(f"GET /login answered {status}")
    status, url, page = browser.request(
        "/login",
        data={"csrf_token": browser.csrf(page), "email": ADMIN_EMAIL, "password": password},
    )
    if status != 200 or urllib.parse.urlsplit(url).path == "/login" or "Sign out" not in page:
        raise Failed(f"sign-in did not succeed: {status} at {url}")
    say(f"signed in as {ADMIN_EMAIL}; landed on {urllib.parse.urlsplit(url).path}")
    keys = run([*compose, "exec", "-T", "redis", "redis-cli", "dbsize"], capture=True).stdout
    if not keys.strip().isdigit() or int(keys) == 0:
        raise Failed(f"the sign-in limit left nothing in Redis (dbsize: {keys.strip()!r})")
    say(f"the sign-in limit counts in Redis ({int(keys)} key(s))")

    status, _, page = browser.request("/settings/tokens")
    status, _, page = browser.request(
        "/settings/tokens", data={"csrf_token": browser.csrf(page), "name": "stack check"}
    )
    found = re.search(r'id="new-token"[^>]*value="([^"]+)"', page)
    if status != 200 or not found:
        raise Failed(f"no new token on the API tokens page ({status})")
    token = html.unescape(found.group(1))
    say(f"created API token {token[:10]}…")

    word = "zyxcheck" + secrets.token_hex(4)
    debrief = {
        "source": "rep",
        "status": "submitted",
        "deal": {
            "name": f"Stack check {word}",
            "account": "Initech",
            "amount": 48000,
            "currency": "USD",
            "close_date": time.strftime("%Y-%m-%d"),
            "outcome": "lost",
            "segment": "Enterprise",
            "region": "EMEA",
        },
        "reasons": [
            {
                "category": "price.total-cost",
                "direction": "hurt",
                "primary": True,
                "explanation": f"The bundle beat us on cost ({word}).",
            }
        ],
        "quotes": [{"text": "Your pricing was simply too high.", "speaker_role": "CFO"}],
        "lessons_learned": f"Build the ROI case early. {word}",
    }
    filed_at = time.monotonic()
    status, _, body = browser.request("/api/v1/debriefs", json_body=debrief, token=token)
    if status != 201:
        raise Failed(f"POST /api/v1/debriefs answered {status}: {body[:500]}")
    debrief_id = json.loads(body)["id"]
    say(f"filed debrief {debrief_id} through the API in {time.monotonic() - filed_at:.2f} s")

    deadline = filed_at + search_timeout
    while True:
        status, _, body = browser.request(
            "/api/v1/search?" + urllib.parse.urlencode({"q": word}), token=token
        )
        if status == 200:
            result = json.loads(body)
            ids = [hit.get("id") for hit in result.get("hits", [])]
            if result.get("total", 0) >= 1:
                if debrief_id not in ids:
                    raise Failed(f"search for {word} found {ids}, not {debrief_id}")
                break
        if time.monotonic() > deadline:
            raise Failed(f"debrief {debrief_id} not found by search after {search_timeout} s")
        time.sleep(0.25)
    say(f"search API found it {time.monotonic() - filed_at:.2f} s after filing")

    status, _, page = browser.request("/search?" + urllib.parse.urlencode({"q": word}))
    if status != 200 or f"/debriefs/{debrief_id}" not in page:
        raise Failed(f"the search page does not list debrief {debrief_id} ({status})")
    say("the search page lists it for the signed-in admin")


# -- main ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", choices=["auto", "hub", "debian"], default="auto")
    parser.add_argument(
        "--rebuild-bases", action="store_true", help="rebuild the cached Debian-based images"
    )
    parser.add_argument(
        "--keep-images", action="store_true", help="keep the app image after the run"
    )
    parser.add_argument(
        "--clean", action="store_true", help="also remove the cached Debian-based images at the end"
    )
    parser.add_argument("--search-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    try:
        compose_cmd = find_engine()
    except Unavailable as exc:
        print(f"SKIP: {exc}", flush=True)
        return SKIP

    try:
        mode = args.images
        if mode == "auto":
            mode = "hub" if hub_images_available() else "debian"
        say(f"images: {mode}")
        files = ["-f", ROOT / "compose.yaml"]
        build_args: list[str] = []
        if mode == "debian":
            try:
                build_local_images(args.rebuild_bases)
            except Failed as exc:
                # Stand-ins for Docker Hub's images, not the product: a mirror
                # that is down should not read as a broken Dockerfile.
                raise Unavailable(f"could not build the Debian-based images: {exc}") from exc
            files += ["-f", CHECK / "compose.yaml"]
            build_args = ["--build-arg", f"BASE={PYTHON_IMAGE}"]
    except Unavailable as exc:
        print(f"SKIP: {exc}", flush=True)
        return SKIP
    except Failed as exc:
        print(f"FAILED: {exc}", flush=True)
        return 1

    port = free_port()
    env = {
        **os.environ,
        "KB_SECRET_KEY": secrets.token_hex(32),
        "KB_DB_PASSWORD": secrets.token_hex(12),
        "KB_PORT": str(port),
    }
    os.environ.update(env)  # for the compose commands below
    compose = [*compose_cmd, "-p", PROJECT, "--project-directory", ROOT, *files]
    browser = Browser(f"http://127.0.0.1:{port}")
    outcome = 1
    try:
        began = time.monotonic()
        previous = image_id(APP_IMAGE) if mode == "debian" else ""
        run([*compose, "build", *build_args, "web", "indexer"])
        say(f"app image built in {time.monotonic() - began:.1f} s")
        if previous and previous != image_id(APP_IMAGE):
            # A kept image of an earlier run, untagged by this build.
            run(["docker", "image", "rm", previous], check=False, capture=True)
        began = time.monotonic()
        run([*compose, "up", "-d", "--no-build"])
        health = wait_healthy(browser, timeout=240)
        say(f"healthy {time.monotonic() - began:.1f} s after `up`: {json.dumps(health)}")
        use_the_stack(compose, browser, args.search_timeout)
        states = run([*compose, "ps"], capture=True).stdout
        print(states, flush=True)
        outcome = 0
        print("OK: image built, stack started, signed in, filed a debrief, found it.", flush=True)
    except (Failed, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        print(f"FAILED: {exc}", flush=True)
        run([*compose, "ps"], check=False)
        run([*compose, "logs", "--no-color", "--tail", "60"], check=False)
    finally:
        run([*compose, "down", "--volumes", "--remove-orphans", "--rmi", "local"], check=False)
        if mode == "debian" and not args.keep_images:
            run(["docker", "image", "rm", APP_IMAGE], check=False, capture=True)
        if args.clean:
            tags = [*LOCAL_IMAGES, DEBIAN_IMAGE]
            run(["docker", "image", "rm", *tags], check=False, capture=True)
        say("stack removed")
    return outcome


if __name__ == "__main__":
    sys.exit(main())
