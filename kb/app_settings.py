"""Settings admins change in the app (Administration › Settings), each with a
configured default: what there is to set, its value now, and saving a change.

A setting an admin has never changed is not stored: its value is the
configuration's, so a changed default reaches every install that kept it.
Saving checks every value first and stores nothing when one is wrong, then
writes the changed values and their audit entry in one commit."""

from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb import audit
from kb.extensions import db
from kb.models import Setting, User
from kb.validation import ValidationFailed


@dataclass(frozen=True)
class WholeNumber:
    """A whole number from `low` to `high`."""

    key: str
    label: str
    help: str
    config_key: str  # the configuration's value is the default
    fallback: int  # without that configuration
    low: int
    high: int

    def default(self) -> int:
        return int(current_app.config.get(self.config_key, self.fallback))

    def parse(self, text: Any) -> int:
        """The number `text` says, or ValueError with what to type instead."""
        shown = str(text if text is not None else "").strip()
        try:
            number = int(shown.replace(",", "").replace("_", ""))
        except ValueError:
            number = None
        if number is None or not self.low <= number <= self.high:
            raise ValueError(f"Enter a whole number from {self.low:,} to {self.high:,}.")
        return number


MIN_WIN_RATE_SAMPLE = WholeNumber(
    key="min_win_rate_sample",
    label="Minimum decided deals for a win-rate comparison",
    help="Below this many won or lost deals with a theme (or without it), its win rate "
    "is not compared with the other deals' and reads “Too few deals to tell”.",
    config_key="KB_MIN_WIN_RATE_SAMPLE",
    fallback=30,
    low=1,
    high=10_000,
)
SETTINGS = (MIN_WIN_RATE_SAMPLE,)


def _stored(setting: WholeNumber) -> Setting | None:
    return db.session.scalar(select(Setting).where(Setting.key == setting.key))


def value_of(setting: WholeNumber) -> int:
    """What an admin set, else the configured default (outside the app: the fallback)."""
    if not has_app_context():
        return setting.fallback
    stored = _stored(setting)
    if stored is not None:
        try:
            return setting.parse(stored.value)
        except ValueError:
            pass  # a value from an older range: the default holds until it is set again
    return setting.default()


def save(actor: User, texts: dict[str, Any]) -> dict[str, list[int]]:
    """Set each setting whose key is in `texts` to the value typed there.
    Returns what changed, as {key: [before, after]}; raises ValidationFailed,
    storing nothing, when any value is wrong."""
    errors: dict[str, str] = {}
    wanted: dict[WholeNumber, int] = {}
    for setting in SETTINGS:
        if setting.key not in texts:
            continue
        try:
            wanted[setting] = setting.parse(texts[setting.key])
        except ValueError as exc:
            errors[setting.key] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    changes: dict[str, list[int]] = {}
    for setting, number in wanted.items():
        before = value_of(setting)
        if number == before:
            continue
        stored = _stored(setting)
        if stored is None:
            stored = Setting(key=setting.key, value=number)
            db.session.add(stored)
        else:
            stored.value = number
        db.session.flush()
        changes[setting.key] = [before, number]
        audit.record(
            actor,
            "update",
            "setting",
            stored.id,
            f"{setting.label}: {number:,}",
            {setting.key: [before, number]},
        )
    try:
        db.session.commit()
    except IntegrityError:  # another admin stored the first value at the same moment
        db.session.rollback()
        message = "Someone else saved this setting at the same moment; look and try again."
        raise ValidationFailed(dict.fromkeys(changes, message)) from None
    return changes
