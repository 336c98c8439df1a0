"""The words discovery leaves out of its findings: the built-in lists, shown,
and the extra words and phrases admins add, one per line, stored in the
database and audited. Discovery reads the list on every run (its cached
results are keyed on it), so a change applies at once in every process."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from wtforms import TextAreaField

from kb import audit
from kb.extensions import db
from kb.models import ExcludedPhrase, User
from kb.search.analysis import analyse
from kb.themes import exclusions
from kb.validation import ValidationFailed

FIELD = "phrases"


class WordlistForm(FlaskForm):
    phrases = TextAreaField(
        "Extra words and phrases to leave out of findings",
        description=(
            "One per line, as people write them. No finding contains any of them: "
            "“phablet” leaves out “sent from my phablet” too."
        ),
        render_kw={"rows": 12},
    )


def _key(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def parse(text: str) -> list[str]:
    """The entries of the text area, one per line, checked; ValidationFailed
    naming each bad line."""
    entries: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        phrase = " ".join(line.split())
        if not phrase:
            continue
        if len(phrase) > exclusions.MAX_PHRASE:
            problems.append(
                f"Line {number}: keep each entry to {exclusions.MAX_PHRASE} characters or fewer."
            )
        elif not any(ch.isprintable() for ch in phrase) or not analyse(phrase):
            problems.append(
                f"Line {number}: “{phrase[:40]}” has no word discovery could find "
                "(the index leaves out words such as “the” and “of” already)."
            )
        else:
            entries.setdefault(_key(phrase), phrase)
    if len(entries) > exclusions.MAX_ENTRIES:
        problems.append(f"Keep the list to {exclusions.MAX_ENTRIES} entries or fewer.")
    if problems:
        raise ValidationFailed({FIELD: " ".join(problems)})
    return list(entries.values())


def save(actor: User, text: str) -> tuple[list[str], list[str]]:
    """Replace the extra list; (added, removed). Nothing is stored when a
    line is refused."""
    wanted = parse(text)
    before = list(exclusions.extra_phrases())
    old = {_key(p): p for p in before}
    new = {_key(p): p for p in wanted}
    added = [p for k, p in new.items() if old.get(k) != p]
    removed = [p for k, p in old.items() if new.get(k) != p]
    if not added and not removed:
        return [], []
    db.session.execute(
        delete(ExcludedPhrase).where(ExcludedPhrase.key.in_([_key(p) for p in removed]))
    )
    db.session.flush()
    db.session.add_all(ExcludedPhrase(phrase=p, key=_key(p)) for p in added)
    after = sorted(new.values(), key=_key)
    parts = [
        f"{verb} {', '.join(items)}" for verb, items in (("added", added), ("removed", removed))
    ]
    audit.record(
        actor,
        "update",
        "discovery_wordlist",
        0,
        "Words left out of discovery: " + "; ".join(parts),
        {"excluded": [sorted(before, key=_key), after]},
    )
    db.session.commit()
    return added, removed


def wordlists():
    form = WordlistForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                added, removed = save(current_user, form.phrases.data)
            except ValidationFailed as exc:
                db.session.rollback()
                form.phrases.errors = [exc.errors[FIELD]]
            else:
                if added or removed:
                    flash(
                        f"Saved: {len(added)} added, {len(removed)} removed. "
                        "Discovery uses the new list from now on.",
                        "success",
                    )
                else:
                    flash("Nothing to change.", "info")
                return redirect(url_for("admin.wordlists"))
        status = 422
        flash("Nothing was saved: correct the list as marked below.", "error")
    else:
        form.phrases.data = "\n".join(exclusions.extra_phrases())
    saved = db.session.scalars(select(ExcludedPhrase.phrase).order_by(ExcludedPhrase.key)).all()
    return render_template(
        "admin/wordlists.html", form=form, built_in=exclusions.built_in(), saved=saved
    ), status


def register(bp: Blueprint) -> None:
    """Add the page to the admin blueprint (whose checks it then shares)."""
    bp.add_url_rule("/wordlists", "wordlists", wordlists, methods=["GET", "POST"])
