"""Whether an anonymous practice's text leads back to its author.

Anyone signed in can search the debriefs, and a debrief shows its author. A
sentence of an anonymous practice that one of its author's debriefs also
says would find that debrief, and so the author: "Share as lesson" starts
from the debrief's own words. A sentence is such a trace when a search for
it, as typed (every word required, with the search's stemming and stop
words), matches one of the author's debriefs; quoted, a phrase needs the
same words, so this covers it too. Debriefs are read from the database,
not the index, so a debrief filed a moment ago counts as well.

Sentences of fewer than MIN_TERMS indexed words ("We won.") are left out:
they match many people's debriefs and single out nobody.
"""

import re
from collections.abc import Iterable

from sqlalchemy import select

from kb.extensions import db
from kb.models import Debrief
from kb.search.analysis import analyse
from kb.search.documents import debrief_options, debrief_text

MIN_TERMS = 3
# A sentence ends at . ! ? or a line break; decimals ("2.5") and
# abbreviations with no space after the dot do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s.strip()]


def _author_debrief_terms(author_id: int) -> list[set[str]]:
    stmt = select(Debrief).where(Debrief.author_id == author_id).options(*debrief_options())
    return [set(analyse(debrief_text(debrief))) for debrief in db.session.scalars(stmt)]


def traced_sentences(author_id: int, texts: Iterable[str]) -> list[str]:
    """The sentences of `texts` a search would find in one of the author's
    debriefs (drafts too: their manager reads them), in order, once each."""
    candidates = []
    for text in texts:
        for sentence in sentences(text):
            terms = set(analyse(sentence))
            if len(terms) >= MIN_TERMS:
                candidates.append((sentence, terms))
    if not candidates:
        return []
    debriefs = _author_debrief_terms(author_id)
    found = [s for s, terms in candidates if any(terms <= words for words in debriefs)]
    return list(dict.fromkeys(found))


def without(text: str, traced: Iterable[str]) -> str:
    """`text` with the traced sentences taken out."""
    drop = set(traced)
    return " ".join(s for s in sentences(text) if s not in drop)


def message(traced: list[str]) -> str:
    listed = " ".join(f"“{s}”" for s in traced)
    return (
        f"Anyone who searches for {'this sentence' if len(traced) == 1 else 'these sentences'} "
        f"would find your own debrief, with your name, so the practice would not be anonymous: "
        f"{listed} Reword {'it' if len(traced) == 1 else 'them'}, take "
        f"{'it' if len(traced) == 1 else 'them'} out, or share under your name."
    )
