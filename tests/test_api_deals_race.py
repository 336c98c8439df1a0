"""Several CRM calls creating the same deal at the same moment, through a
real server: every one is answered, and one deal is stored."""

import threading

import pytest
import requests
from sqlalchemy import func, select

from kb.auth.service import create_token
from kb.extensions import db
from kb.models import Deal
from tests.test_api_deals import deal_body

CALLERS = 10


# SQLite serialises writers, so the race needs PostgreSQL (the run against it has it).
@pytest.mark.postgresql
def test_concurrent_posts_of_one_crm_id_store_one_deal(app, users, live_server):
    token = create_token(users.admin)
    db.session.commit()
    start = threading.Barrier(CALLERS)
    answers: list[tuple[int, dict]] = []

    def post(n: int) -> None:
        # Each caller names other competitors, so the losers' updates race too.
        competitors = [["Acme"], ["Acme", "Globex"], ["Globex", "SFDC"]][n % 3]
        start.wait()
        response = requests.post(
            f"{live_server}/api/v1/deals",
            json=deal_body(amount=1000 + n, competitors=competitors, winner=competitors[0]),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        answers.append(
            (response.status_code, response.json() if response.ok else response.text[:300])
        )

    threads = [threading.Thread(target=post, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1, answers
    assert statuses.count(200) == CALLERS - 1, statuses
    assert len({body["id"] for _, body in answers}) == 1
    db.session.rollback()
    crm_id = deal_body()["crm_id"]
    assert db.session.scalar(select(func.count()).where(Deal.crm_id == crm_id)) == 1
