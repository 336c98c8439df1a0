"""Configuration from environment variables, with defaults that need no setup."""

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance_path: Path) -> str:
    """KB_SECRET_KEY, or a random key generated once and kept in the instance
    folder so that sessions survive a restart without any setup."""
    if key := os.environ.get("KB_SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _database_url(url: str) -> str:
    # Accept the URLs hosting providers hand out and use the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: str) -> dict:
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    env = os.environ
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": _database_url(
            env.get("KB_DATABASE_URL", f"sqlite:///{instance / 'kb.sqlite3'}")
        ),
        "KB_INDEX_DIR": env.get("KB_INDEX_DIR", str(PROJECT_ROOT / "search_index")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Secure cookies need HTTPS; KB_INSECURE_COOKIES=1 allows plain HTTP on localhost.
        "SESSION_COOKIE_SECURE": env.get("KB_INSECURE_COOKIES") != "1",
        "REMEMBER_COOKIE_SECURE": env.get("KB_INSECURE_COOKIES") != "1",
        # Where sign-in attempts are counted: the database unless a URL is given
        # (redis://host:6379; memory:// suits a single process only).
        "KB_RATELIMIT_STORAGE_URL": (
            env.get("KB_RATELIMIT_STORAGE_URL") or env.get("KB_RATELIMIT_STORAGE_URI", "")
        ),
        "KB_LOGIN_RATE_LIMIT": env.get("KB_LOGIN_RATE_LIMIT", "10 per minute"),
        "RATELIMIT_STORAGE_URI": "memory://",  # Flask-Limiter's, unused by any route
        "KB_PAGE_SIZE": 25,
        # Refuse oversized request bodies before anything parses them (CRM files included).
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "KB_DEBRIEF_OVERDUE_DAYS": int(env.get("KB_DEBRIEF_OVERDUE_DAYS", "14")),
        # Who writes the search index: "thread" (a web worker's background
        # thread), "external" (`kb indexer`) or "inline" (tests); see kb.search.
        "KB_SEARCH_INDEXER": env.get("KB_SEARCH_INDEXER", ""),
        # /healthz fails when a committed change waits longer than this for the index.
        "KB_INDEX_MAX_LAG_SECONDS": float(env.get("KB_INDEX_MAX_LAG_SECONDS", "30")),
        # Theme figures computed once per machine and shared (kb.themes.stored):
        # off with 0; lagging figures are shown, with their time, this long at most.
        "KB_THEME_FIGURES_STORED": env.get("KB_THEME_FIGURES_STORED", "1") != "0",
        "KB_THEME_FIGURES_MAX_LAG": float(env.get("KB_THEME_FIGURES_MAX_LAG", "300")),
        # Operations (kb.observability): "json" writes one JSON object per log line.
        "KB_LOG_FORMAT": env.get("KB_LOG_FORMAT", "text"),
        "KB_LOG_LEVEL": env.get("KB_LOG_LEVEL", "INFO"),
        # Who may read /metrics: this bearer token, or clients in these CIDRs.
        "KB_METRICS_TOKEN": env.get("KB_METRICS_TOKEN", ""),
        "KB_METRICS_NETWORKS": env.get("KB_METRICS_NETWORKS", ""),
    }
