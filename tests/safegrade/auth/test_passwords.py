"""Passwords: Argon2id, the policy rule by rule, one-time passwords; the signing secret."""

from __future__ import annotations

import pytest

from safegrade.auth import passwords, signing_secret
from safegrade.errors import ConfigError, InvalidInput
from safegrade.settings import load_settings
from tests.safegrade.auth.conftest import PRODUCTION_HASHER


def test_a_password_is_hashed_with_argon2id_and_verifies(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", PRODUCTION_HASHER)
    stored = passwords.hash_password("Correct-Horse-9")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # pwdlib's recommended parameters
    assert "Correct-Horse-9" not in stored
    assert passwords.verify_password("Correct-Horse-9", stored) == (True, None)
    assert passwords.verify_password("correct-horse-9", stored)[0] is False
    assert passwords.verify_password("anything", None) == (False, None)
    assert passwords.verify_password("anything", "not a hash") == (False, None)


@pytest.mark.parametrize(("password", "account", "why"), [
    ("Ab1!xyz", "zhang", "too short"),
    ("Ab1!xyzuv", "zhang", "too short"),  # 9 characters
    ("abcdefghijk", "zhang", "at least 3 of"),
    ("abcdefgh12", "zhang", "at least 3 of"),  # two classes
    ("ABCDEFGH!!", "zhang", "at least 3 of"),
    ("Zhang-2023x", "zhang", "account name"),
    ("xxZHANG2023!", "zhang", "account name"),  # case-insensitive
])
def test_the_policy_refuses_each_rule_by_name(password, account, why):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_policy(password, account)
    error = refused.value
    assert (error.code, error.field) == ("weak_password", "password")
    assert why in str(error)
    assert error.allowed == passwords.POLICY
    assert "至少10位" in passwords.POLICY
    assert password not in str(error)
    assert error.value is None


@pytest.mark.parametrize("password", ["Abcdefgh12", "abcdefgh1!", "ABCDEFGH1!", "Abcdefghi!", "安全生产Abc123456"])
def test_the_policy_allows_three_classes_and_ten_characters(password):
    passwords.check_policy(password, "zhang")


def test_the_new_password_must_differ_from_the_old_one():
    old = passwords.hash_password("Abcdefgh12!")
    with pytest.raises(InvalidInput, match="must differ"):
        passwords.check_policy("Abcdefgh12!", "zhang", old_hash=old)
    passwords.check_policy("Abcdefgh13!", "zhang", old_hash=old)


def test_one_time_passwords_meet_the_policy_and_differ():
    made = {passwords.one_time_password("abc") for _ in range(50)}
    assert len(made) == 50
    for p in made:
        passwords.check_policy(p, "abc")
        assert passwords.classes(p) == 4


# --- the signing secret --------------------------------------------------------------------------------------

STRONG = "s" * 40


def settings(tmp_path, **web):
    return load_settings(env={}, base_dir=str(tmp_path), web=web or None)


def test_the_secret_comes_from_the_environment_variable(tmp_path):
    assert signing_secret(settings(tmp_path), env={"SAFEGRADE_WEB_SECRET": STRONG}) == STRONG.encode()
    assert signing_secret(settings(tmp_path, secret_env="MY_SECRET"), env={"MY_SECRET": STRONG}) == STRONG.encode()


def test_the_secret_comes_from_a_file_relative_to_the_config(tmp_path):
    (tmp_path / "secret").write_text(STRONG + "\n")
    assert signing_secret(settings(tmp_path, secret_file="secret"), env={}) == STRONG.encode()


@pytest.mark.parametrize(("env", "code", "words"), [
    ({}, "no_secret", "no signing secret"),
    ({"SAFEGRADE_WEB_SECRET": "short"}, "weak_secret", "too weak: 5 bytes"),
])
def test_a_missing_or_weak_secret_is_refused_outside_the_demo(tmp_path, env, code, words):
    with pytest.raises(ConfigError) as refused:
        signing_secret(settings(tmp_path), env=env)
    assert refused.value.code == code
    assert words in str(refused.value)
    assert "short" not in str(refused.value)  # the secret itself is never shown
    demo = signing_secret(settings(tmp_path), env=env, demo=True)
    assert len(demo) >= 32
    assert demo != signing_secret(settings(tmp_path), env=env, demo=True)


def test_an_unreadable_secret_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        signing_secret(settings(tmp_path, secret_file="nope"), env={})


def test_the_web_settings_have_safe_defaults_and_refuse_bad_values(tmp_path):
    web = settings(tmp_path).web
    assert (web.session_idle_minutes, web.session_absolute_hours, web.token_max_days) == (30, 8, 365)
    assert (web.lockout.max_failures, web.lockout.window_minutes, web.lockout.lock_minutes,
            web.lockout.per_client_max_failures) == (5, 15, 15, 20)
    assert web.uploads.max_bytes == 20 * 1024 * 1024
    assert "application/pdf" in web.uploads.allowed_types
    assert not web.secure_cookies
    assert settings(tmp_path, base_url="https://sg.example.org/").web.secure_cookies
    with pytest.raises(ConfigError, match="'ftp://x' is not an http:// or https:// URL"):
        settings(tmp_path, base_url="ftp://x")
    with pytest.raises(ConfigError, match="'pdf' is not a MIME type"):
        settings(tmp_path, uploads={"allowed_types": ["pdf"]})
    config = tmp_path / "config.yaml"
    config.write_text("web:\n  lockout:\n    max_failures: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yaml: web.lockout.max_failures: Input should be greater"):
        load_settings(config, env={})
