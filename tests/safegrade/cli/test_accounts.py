"""The account commands: actor add with contacts, password, disable/enable, tokens; audit security-log and the
security log in audit verify."""

from __future__ import annotations

import json

from safegrade.cli.app import os_user


def test_actor_add_records_contacts_and_the_list_shows_the_account(ready):
    cli, *_ = ready
    code, _, err = cli("--actor", "boss", "actor", "add", "qy", "--role", "enterprise", "--enterprise",
                       "91120114MA00000017", "--email", "qy@example.org", "--phone", "13800000000", "--im", "qy_01")
    assert code == 0, err
    code, out, _ = cli("--json", "actor", "list")
    listed = {a["name"]: a for a in json.loads(out)}
    account = listed["qy"]["account"]
    assert (account["email"], account["phone"], account["im_user"]) == ("qy@example.org", "13800000000", "qy_01")
    assert (account["has_password"], account["disabled"]) == (False, False)
    code, out, _ = cli("actor", "list")
    assert "qy@example.org" in out
    assert "未设密码" in out
    code, _, err = cli("--actor", "boss", "actor", "add", "x", "--role", "reviewer", "--email", "not-an-address")
    assert code == 1
    assert "--email: 'not-an-address' is not an e-mail address" in err
    assert "x" not in {a["name"] for a in json.loads(cli("--json", "actor", "list")[1])}


def test_actor_password_shows_a_one_time_password_once(ready):
    cli, *_ = ready
    code, out, err = cli("--actor", "boss", "actor", "password", "wq")
    assert code == 0, err
    assert "shown once" in out
    password = out.strip().splitlines()[-1]
    assert len(password) == 16
    code, out, _ = cli("--json", "actor", "password", "wq")  # the console (no --actor) may too
    again = json.loads(out)
    assert again["must_change"] is True
    assert again["password"] != password
    code, out, _ = cli("audit", "security-log", "--kind", "password_set")
    assert password not in out
    assert again["password"] not in out
    assert "boss" in out
    assert os_user() in out
    assert "须改密码" in cli("actor", "list")[1]


def test_only_the_bureau_or_the_console_manages_accounts(ready):
    cli, *_ = ready
    for args in (["actor", "password", "boss"], ["actor", "disable", "boss"],
                 ["actor", "token", "boss", "--expires", "30d"]):
        code, _, err = cli("--actor", "wq", *args)
        assert code == 1
        assert "role 'district' may not manage accounts; allowed roles: bureau" in err


def test_actor_disable_and_enable(ready):
    cli, *_ = ready
    code, out, _ = cli("--actor", "boss", "actor", "disable", "wq")
    assert (code, out.strip()) == (0, "wq: 已停用 disabled")
    assert "已停用" in cli("actor", "list")[1]
    code, out, _ = cli("--actor", "boss", "actor", "enable", "wq")
    assert (code, out.strip()) == (0, "wq: 未设密码 no password")
    code, _, err = cli("actor", "disable", "system")
    assert code == 1
    assert "the system actor never signs in" in err


def test_actor_token_tokens_and_revoke_token(ready):
    cli, *_ = ready
    code, out, err = cli("--actor", "boss", "actor", "token", "wq", "--expires", "90d", "--label", "报表脚本")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("sgt_")
    code, out, _ = cli("--json", "actor", "tokens", "wq")
    [row] = json.loads(out)
    assert (row["actor"], row["label"], row["created_by"], row["revoked_at"]) == ("wq", "报表脚本", "boss", None)
    assert token not in out
    assert token not in cli("actor", "tokens")[1]
    code, out, _ = cli("--actor", "boss", "actor", "revoke-token", row["id"])
    assert (code, out.strip()) == (0, f"token {row['id']} of wq revoked")
    assert json.loads(cli("--json", "actor", "tokens")[1])[0]["revoked_at"] is not None
    code, _, err = cli("actor", "revoke-token", "nope")
    assert code == 1
    assert "no API token 'nope'" in err
    for expires, words in (("9x", "--expires: '9x' is not a duration"), ("400d", "--expires: a token lives")):
        code, _, err = cli("actor", "token", "wq", "--expires", expires)
        assert code == 1
        assert words in err


def test_audit_security_log_readers_and_filters(ready):
    cli, *_ = ready
    cli("actor", "password", "wq")
    cli("--actor", "boss", "actor", "disable", "wq")
    code, out, _ = cli("--json", "audit", "security-log", "--actor", "wq")
    kinds = [e["kind"] for e in json.loads(out)]
    assert kinds == ["account_disabled", "password_set", "account_added"]  # newest first
    code, out, _ = cli("--json", "--actor", "boss", "audit", "security-log", "--kind", "account_disabled")
    [event] = json.loads(out)
    assert (event["subject"], event["by"], event["source"]) == ("wq", "boss", "cli")
    code, _, err = cli("--actor", "wq", "audit", "security-log")
    assert code == 1
    assert "may not read the security log" in err
    code, _, err = cli("audit", "security-log", "--kind", "nope")
    assert code == 1
    assert "--kind: unknown kind 'nope'" in err


def test_audit_verify_checks_the_security_log(ready):
    cli, *_ = ready
    code, out, _ = cli("audit", "verify")
    assert code == 0
    assert "OK: the security log's chain verifies" in out
    report = json.loads(cli("--json", "audit", "verify")[1])
    assert report["security_log"]["ok"] is True
    assert report["security_log"]["events"] == 2  # wq and boss were added
