"""Optimistic concurrency over HTTP: two clients fire on the same enterprise at once with the same If-Match;
one wins (200), the other is told the version moved (412, with the current ETag); the audit chain gains
exactly one event and still verifies. On SQLite and on PostgreSQL, with real threads."""

from __future__ import annotations

from safegrade.services.auditing import verify_audit
from tests.factories import race
from tests.safegrade.api.conftest import PREFIX

SUMMON = {"event": "summon", "reason": "约谈", "data": {}}


def test_two_clients_with_the_same_if_match_one_wins_one_is_412(api_any):
    api = api_any
    clients = [api.session("bureau"), api.bearer("district_a")]
    etag = clients[0].get(f"{PREFIX}/enterprises/{api.e1}").headers["ETag"]
    before = api.events(api.e1)
    answers = race([lambda c=c: c.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                                       headers={"If-Match": etag}) for c in clients])
    assert all(not isinstance(a, Exception) for a in answers), answers
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 200)
    lost = next(a for a in answers if a.status_code == 412)
    assert lost.json()["code"] == "version_moved"
    assert lost.headers["ETag"] == won.headers["ETag"] == '"2"'
    after = api.events(api.e1)
    assert len(after) == len(before) + 1
    report = verify_audit(api.ctx())
    assert report.ok
