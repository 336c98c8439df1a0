"""Administration › Settings: the minimum sample a win-rate comparison needs
is the admin's to set (the configuration gives the default); a theme's page
reads its win rate by the new threshold; bad values are refused with what to
type and change nothing; only admins may change it; every change is audited."""

import pytest
from sqlalchemy import func, select

from kb import app_settings
from kb.analytics import stats
from kb.extensions import db
from kb.models import AuditEntry, Setting
from tests.test_practices import sign_in
from tests.test_themes_honest import history  # noqa: F401

KEY = app_settings.MIN_WIN_RATE_SAMPLE.key


def reading(client, theme) -> str:
    html = client.get(f"/themes/{theme.id}?period=all").get_data(as_text=True)
    figure = html.split('id="win-rate-mentioned"', 1)[1].split("</div>", 1)[0]
    return figure.split('<dd class="reading">', 1)[1].split("</dd>", 1)[0]


def audited() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "setting")))


def test_an_admin_sets_the_minimum_and_theme_pages_follow_it(client, auth, users, history):  # noqa: F811
    # The theme: 1 won of 2 decided deals with it, 1 decided deal without it.
    sign_in(auth, users.manager)
    assert reading(client, history).startswith("Too few deals to tell (fewer than 30 decided")

    sign_in(auth, users.admin)
    page = client.get("/admin/settings")
    assert page.status_code == 200
    assert 'value="30"' in page.text and "default 30" in page.text
    response = client.post("/admin/settings", data={KEY: "2"}, follow_redirects=True)
    assert response.status_code == 200 and "Settings saved." in response.text
    assert 'value="2"' in response.text

    sign_in(auth, users.manager)
    assert reading(client, history) == (
        "Too few deals to tell (fewer than 2 decided deals without it)."
    )
    sign_in(auth, users.admin)
    client.post("/admin/settings", data={KEY: "1"})
    sign_in(auth, users.manager)
    assert reading(client, history).startswith("No clear difference from the other deals (p = ")

    # Each change is in the audit log, from the value before to the value after.
    entries = audited()
    assert [e.changes for e in entries] == [{KEY: [30, 2]}, {KEY: [2, 1]}]
    assert {e.user_id for e in entries} == {users.admin.id}
    sign_in(auth, users.admin)
    log = client.get("/admin/audit").text
    assert "Minimum decided deals for a win-rate comparison: 1" in log
    assert 'href="/admin/settings"' in log


def test_saving_the_same_value_changes_nothing(client, auth, users):
    sign_in(auth, users.admin)
    response = client.post("/admin/settings", data={KEY: "30"}, follow_redirects=True)
    assert "Nothing to change." in response.text
    assert audited() == [] and db.session.scalar(select(func.count()).select_from(Setting)) == 0


@pytest.mark.parametrize("typed", ["", "abc", "0", "-5", "2.5", "10001", "1e3", "9" * 30])
def test_a_bad_value_is_refused_and_the_old_one_kept(client, auth, users, typed):
    sign_in(auth, users.admin)
    client.post("/admin/settings", data={KEY: "12"})
    response = client.post("/admin/settings", data={KEY: typed})
    assert response.status_code == 422
    if len(typed) <= 20:
        assert "Enter a whole number from 1 to 10,000." in response.text
        assert f'value="{typed}"' in response.text  # what was typed, to correct
    else:
        assert "Field cannot be longer than 20 characters." in response.text
    assert 'aria-invalid="true"' in response.text
    assert stats.min_sample() == 12
    assert [e.changes for e in audited()] == [{KEY: [30, 12]}]


def test_the_limits_and_a_grouped_number_are_accepted(client, auth, users):
    sign_in(auth, users.admin)
    for typed, stored in (("10,000", 10_000), (" 1 ", 1)):
        assert client.post("/admin/settings", data={KEY: typed}).status_code == 302
        assert stats.min_sample() == stored


@pytest.mark.parametrize("role", ["rep", "manager", "marketing"])
def test_only_admins_change_it(client, auth, users, role):
    sign_in(auth, getattr(users, role))
    assert client.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data={KEY: "3"}).status_code == 403
    assert stats.min_sample() == 30 and audited() == []


def test_the_configuration_is_the_default_until_an_admin_sets_it(app, client, auth, users):
    app.config["KB_MIN_WIN_RATE_SAMPLE"] = 12
    assert stats.min_sample() == 12
    sign_in(auth, users.admin)
    assert 'value="12"' in client.get("/admin/settings").text
    client.post("/admin/settings", data={KEY: "40"})
    app.config["KB_MIN_WIN_RATE_SAMPLE"] = 15
    assert stats.min_sample() == 40  # what the admin set outlasts a new default
    assert [e.changes for e in audited()] == [{KEY: [12, 40]}]


def test_the_service_refuses_a_bad_value_without_storing_it(users):
    with pytest.raises(app_settings.ValidationFailed) as refused:
        app_settings.save(users.admin, {KEY: "lots"})
    assert refused.value.errors == {KEY: "Enter a whole number from 1 to 10,000."}
    assert db.session.scalar(select(func.count()).select_from(Setting)) == 0
    assert app_settings.save(users.admin, {KEY: 45}) == {KEY: [30, 45]}
    assert stats.min_sample() == 45
