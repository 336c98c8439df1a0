"""The Dockerfile and compose.yaml, built and used: deploy/check_stack.py builds
the image, starts PostgreSQL, Redis, the app behind gunicorn and the indexer,
signs in through the login form, files a debrief through the API with a token
made on the tokens page, and searches until the indexer container has indexed it.

Opt-in, because the first run builds images for several minutes: without
KB_CHECK_CONTAINERS=1 the test is deselected (tests/conftest.py); .ci/run
sets it once it has tried to start a Docker daemon.
Without a usable engine the test is skipped with the script's reason."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.container

SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "check_stack.py"
UNAVAILABLE = 77


def test_image_builds_and_the_stack_signs_in_files_and_finds_a_debrief():
    done = subprocess.run(  # noqa: S603  (the project's own script)
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode == UNAVAILABLE:
        reasons = [line for line in output.splitlines() if line.startswith("SKIP:")]
        pytest.skip("no usable container engine: " + (reasons[-1] if reasons else output[-500:]))
    assert done.returncode == 0, output[-6000:]
    assert "OK: image built, stack started, signed in, filed a debrief, found it." in output
    # Torn down: nothing of the stack is left running.
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=kbcheck"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == ""
