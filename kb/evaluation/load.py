"""Loading labelled texts into the throwaway knowledge base the way a
customer's script would: through the JSON API with a bearer token.

Each text becomes a submitted debrief of a lost deal, its text a quote (the
customer's words; a text longer than one quote may be is split between
words into several quotes of the same debrief), with one reason of a fixed
category, so that nothing but the text tells the texts apart. The deal's
name and account are the same for all ("Feedback", "Public data set") so
they add no distinguishing word.

The label is kept aside in memory, with one exception: discovery works on a
subset of debriefs chosen by filters, so each deal's segment is an opaque
code for its label ("Label 03"). No text field carries it, so search and
themes cannot see it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from kb.admin.service import add_choice
from kb.auth.service import create_token, create_user
from kb.evaluation.dataset import Text
from kb.extensions import db
from kb.models import Role, User

PASSWORD = "evaluation-password-1"  # noqa: S105  (a throwaway user in a throwaway database)
CLOSE_DATE = "2015-02-24"  # the same for every text (the airline tweets' last day)
REASON_CATEGORY = "product.missing-capability"  # the same for every debrief: says nothing
UNLISTED = "Other labels"
QUOTE_LIMIT = 2000  # the API's longest quote
QUOTES = 20  # and most quotes in one debrief


class LoadError(RuntimeError):
    pass


@dataclass
class Api:
    """A test client that sends the bearer token with every request."""

    client: FlaskClient
    token: str
    user: User

    def call(self, method: str, url: str, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise LoadError(f"{method} {url} answered {response.status_code}: {response.text}")
        return response.get_json()

    def get(self, url: str, **params) -> dict:
        return self.call("GET", url, query_string=params)

    def post(self, url: str, body: dict) -> dict:
        return self.call("POST", url, json=body)


def connect(app: Flask) -> Api:
    user = create_user("evaluation@example.com", PASSWORD, Role.ADMIN, "Evaluation")
    token = create_token(user, "kb evaluate")
    db.session.commit()
    return Api(app.test_client(), token, user)


def segment_codes(app: Flask, labels: Sequence[str]) -> dict[str, str]:
    """An opaque segment value for each label (and one for the rest), added
    to the segment list as an admin would."""
    from kb.auth.service import find_user

    admin = find_user("evaluation@example.com")
    codes = {label: f"Label {i:02}" for i, label in enumerate(labels, 1)}
    codes[UNLISTED] = "Label 00"
    for code in codes.values():
        add_choice(admin, "segment", code)
    return codes


def _split(text: str) -> tuple[list[str], str]:
    parts: list[str] = []
    rest = text.strip()
    while rest and len(parts) < QUOTES:
        if len(rest) <= QUOTE_LIMIT:
            return [*parts, rest], ""
        cut = rest.rfind(" ", QUOTE_LIMIT // 2, QUOTE_LIMIT + 1)
        cut = cut if cut > 0 else QUOTE_LIMIT
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return parts, rest


def quote_parts(text: str) -> list[str]:
    """A text as the quotes of one debrief: a long complaint is split between
    words into quotes of at most QUOTE_LIMIT characters (up to QUOTES of
    them; what is past those is left out)."""
    return _split(text)[0]


def is_cut(text: str) -> bool:
    """Whether part of a text is past what a debrief's quotes can hold."""
    return bool(_split(text)[1])


def loaded_text(text: str) -> str:
    """What of a text is loaded, its quotes one after the other."""
    return "\n".join(quote_parts(text))


def debrief_payload(text: Text, segment: str) -> dict:
    return {
        "source": "rep",
        "status": "submitted",
        "deal": {
            "name": "Feedback",
            "account": "Public data set",
            "close_date": CLOSE_DATE,
            "outcome": "lost",
            "segment": segment,
        },
        "reasons": [{"category": REASON_CATEGORY, "direction": "hurt", "primary": True}],
        "quotes": [{"text": part} for part in quote_parts(text.text)],
    }


def load(
    api: Api,
    texts: Sequence[Text],
    codes: dict[str, str],
    progress: Callable[[int], None] = lambda _: None,
) -> dict[int, str]:
    """Post every text; returns each debrief id's label."""
    labels = {}
    for text in texts:
        segment = codes.get(text.label, codes[UNLISTED])
        created = api.post("/api/v1/debriefs", debrief_payload(text, segment))
        labels[created["id"]] = text.label
        progress(1)
    return labels
