"""The `notifications` section of the settings: channels (a URL, or a mapping with audiences and districts)
and retry; every bad value refused at load time naming its key and what is allowed, never a password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safegrade.errors import ConfigError
from safegrade.notify.channels import channels_from_settings
from safegrade.settings import PROJECT_ROOT, ChannelSettings, load_settings
from tests.factories import config

CHANNELS = """\
notifications:
  channels:
    - mailtos://officer:pa55@smtp.example.org?to=officer@example.org
    - {name: 武清区钉钉群, url: "dingtalk://TOKEN/", audiences: [district], districts: [120114]}
    - {name: webhook, url: "json://127.0.0.1:8080/hook", audiences: [enterprise, bureau]}
  retry:
    max_attempts: 3
    backoff_seconds: 60
    backoff_factor: 1.5
    lease_seconds: 120
"""


def test_defaults_with_an_empty_config(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, ""), env={})
    assert s.notifications.channels == []
    r = s.notifications.retry
    assert (r.max_attempts, r.backoff_seconds, r.backoff_factor, r.lease_seconds) == (6, 300, 2, 600)


def test_the_project_config_has_a_file_channel_for_every_audience() -> None:
    s = load_settings(PROJECT_ROOT / "config.yaml", env={})
    [outbox] = channels_from_settings(s)
    assert outbox.name == "outbox"
    assert outbox.url == f"file://{PROJECT_ROOT}/var/outbox"
    assert outbox.audiences == {"enterprise", "district", "bureau"}
    assert not outbox.districts
    assert s.notifications.retry.max_attempts == 6


def test_urls_and_mappings(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, CHANNELS), env={})
    first, dingtalk, webhook = s.notifications.channels
    assert first == "mailtos://officer:pa55@smtp.example.org?to=officer@example.org"
    assert dingtalk == ChannelSettings(name="武清区钉钉群", url="dingtalk://TOKEN/", audiences=("district",),
                                       districts=("120114",))  # YAML's number 120114 is kept as the code
    assert isinstance(webhook, ChannelSettings)
    assert webhook.audiences == ("enterprise", "bureau")
    assert webhook.districts == ()
    r = s.notifications.retry
    assert (r.max_attempts, r.backoff_seconds, r.backoff_factor, r.lease_seconds) == (3, 60, 1.5, 120)


def test_channels_from_the_environment_as_json(tmp_path: Path) -> None:
    env = {"SAFEGRADE_NOTIFICATIONS__CHANNELS": json.dumps(["json://h/x", {"url": "file://out",
                                                                            "audiences": ["bureau"]}])}
    s = load_settings(config(tmp_path, CHANNELS), env=env)
    assert s.notifications.channels[0] == "json://h/x"
    assert s.notifications.retry.max_attempts == 3  # the file's retry stays


def test_channel_settings_built_in_code_are_accepted(tmp_path: Path) -> None:
    built = ChannelSettings(name="x", url="json://h/x", audiences=("bureau",))
    s = load_settings(config(tmp_path, ""), env={}, notifications={"channels": [built, "file://out"]})
    assert s.notifications.channels == [built, "file://out"]


def test_an_override_keeps_the_channels(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, CHANNELS), env={}, database_url="sqlite:////srv/sg.db")
    assert len(s.notifications.channels) == 3
    assert s.database_url == "sqlite:////srv/sg.db"


@pytest.mark.parametrize(("text", "fragment"), [
    pytest.param("notifications:\n  channels: mailto://a:b@h\n",
                 "notifications.channels: must be a list of Apprise URLs or mappings {name, url, audiences, districts}",
                 id="not-a-list"),
    pytest.param("notifications:\n  channels: [42]\n",
                 "notifications.channels[0]: must be an Apprise URL or a mapping", id="a-number"),
    pytest.param("notifications:\n  channels: [json://h/x, {url: 'json://h/y', audiences: [public]}]\n",
                 "notifications.channels[1].audiences: 'public' is not allowed; allowed: enterprise, district, bureau",
                 id="bad-audience"),
    pytest.param("notifications:\n  channels: [{url: 'json://h/y', audiences: []}]\n",
                 "notifications.channels[0].audiences: must name at least one of enterprise, district, bureau",
                 id="no-audience"),
    pytest.param("notifications:\n  channels: [{url: 'json://h/y', audiences: district}]\n",
                 "notifications.channels[0].audiences: must be a list of enterprise, district, bureau",
                 id="audiences-not-a-list"),
    pytest.param("notifications:\n  channels: [{url: 'json://h/y', districts: 120114}]\n",
                 "notifications.channels[0].districts: must be a list of district codes", id="districts-not-a-list"),
    pytest.param("notifications:\n  channels: [{name: x, audiences: [bureau]}]\n",
                 "notifications.channels[0].url: required, an Apprise URL such as mailto://", id="no-url"),
    pytest.param("notifications:\n  channels: [{url: 'json://h/y', colour: red}]\n",
                 "notifications.channels[0]: unknown key(s) colour; allowed keys are name, url, audiences, districts",
                 id="unknown-key"),
    pytest.param("notifications:\n  channels: [{url: 'json://h/y', name: ''}]\n",
                 "notifications.channels[0].name: must be a non-empty text", id="empty-name"),
    pytest.param("notifications:\n  channels: ['slack://a/b/c']\n",
                 "notifications.channels[0]: 'slack://a/b/c': scheme 'slack' is not supported; allowed: mailto, "
                 "mailtos, dingtalk, wecombot, json, jsons, form, forms, file", id="unsupported-scheme"),
    pytest.param("notifications:\n  channels: [{url: 'wecombot://'}]\n",
                 "notifications.channels[0].url: Apprise cannot parse 'wecombot://' (An invalid WeCom Bot Webhook "
                 "Key () was specified.); write it as wecombot://BOTKEY",
                 id="unparseable"),
    pytest.param("notifications:\n  channels: [{name: a, url: 'json://h/x'}, {name: a, url: 'json://h/y'}]\n",
                 "notifications.channels[1]: the channel name 'a' is already used by notifications.channels[0]",
                 id="duplicate-name"),
    pytest.param("notifications:\n  channels: ['json://h/x', 'json://h/x']\n",
                 "is already used by notifications.channels[0]", id="duplicate-url"),
    pytest.param("notifications:\n  retry:\n    max_attempts: 0\n",
                 "notifications.retry.max_attempts: Input should be greater than or equal to 1", id="no-attempts"),
    pytest.param("notifications:\n  retry:\n    backoff_factor: 0.5\n",
                 "notifications.retry.backoff_factor: Input should be greater than or equal to 1", id="shrinking"),
    pytest.param("notifications:\n  retry:\n    every: 5\n",
                 "notifications.retry.every: Extra inputs are not permitted", id="unknown-retry-key"),
    pytest.param("notifications:\n  email: x\n", "notifications.email: Extra inputs are not permitted",
                 id="unknown-section-key"),
])
def test_bad_notifications_are_refused_naming_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value).startswith(f"{path}: notifications")
    assert fragment in str(info.value)


def test_every_bad_channel_is_listed_at_once(tmp_path: Path) -> None:
    path = config(tmp_path, "notifications:\n  channels: ['ftp://x', {url: 'json://h', audiences: [all]}]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "notifications.channels[0]: 'ftp://x'" in str(info.value)
    assert "notifications.channels[1].audiences: 'all'" in str(info.value)


@pytest.mark.parametrize("url", ["mailto://officer:Hunter2pw@", "smtp://officer:Hunter2pw@smtp.example.org",
                                 "officer:Hunter2pw@smtp.example.org"])
def test_a_refused_url_never_shows_its_password(tmp_path: Path, url: str) -> None:
    path = config(tmp_path, f"notifications:\n  channels: ['{url}']\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "Hunter2pw" not in str(info.value)
    assert "officer:****@" in str(info.value)


def test_a_bad_channel_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    env = {"SAFEGRADE_NOTIFICATIONS__CHANNELS": '["json://h/x", {"url": "json://h/y", "audiences": ["nobody"]}]'}
    with pytest.raises(ConfigError, match=r"^SAFEGRADE_NOTIFICATIONS__CHANNELS: .*notifications\.channels\[1\]"
                                          r"\.audiences: 'nobody' is not allowed"):
        load_settings(config(tmp_path, ""), env=env)
