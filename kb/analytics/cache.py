"""Results kept per app, keyed on the state they were computed from.

Every key starts with the state its figures were read from: for theme
figures, the index's state (its segments and how many live documents each
holds) and the outbox position the deal facts reflect; for SQL analytics,
data_version(). A new or changed debrief or deal writes to the outbox in its
own transaction, so it makes the old entries unreachable at once; they age
out of the LRU. Nothing is ever invalidated by hand.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import IndexChange, ReasonCategory

EXTENSION = "kb_theme_cache"
MAX_ENTRIES = 512


class ResultCache:
    def __init__(self, size: int = MAX_ENTRIES):
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                self.hits += 1
                return self.entries[key]
            self.misses += 1
        value = compute()
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def results() -> ResultCache:
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(EXTENSION, ResultCache())
    return cache


def cached(key: Hashable, compute: Callable[[], Any]) -> Any:
    if not current_app.config.get("KB_THEME_CACHE", True):
        return compute()
    return results().get(key, compute)


def data_version() -> tuple:
    """Changes whenever a debrief or deal changes (the outbox position) or
    the reason taxonomy does (its names label the figures)."""
    latest = db.session.scalar(select(func.max(IndexChange.id))) or 0
    taxonomy = hash(
        tuple(
            db.session.execute(
                select(
                    ReasonCategory.id,
                    ReasonCategory.slug,
                    ReasonCategory.name,
                    ReasonCategory.parent_id,
                    ReasonCategory.position,
                ).order_by(ReasonCategory.id)
            ).all()
        )
    )
    return latest, taxonomy
