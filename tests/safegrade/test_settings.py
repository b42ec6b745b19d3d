"""Settings: config.yaml, then SAFEGRADE_* variables (handed in, never os.environ), then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from safegrade.errors import ConfigError
from safegrade.settings import PROJECT_ROOT, find_config, load_settings
from tests.factories import config

FILE = """\
database_url: sqlite:///data/sg.db
timezone: Asia/Shanghai
rules_dir: policy
sqlite_synchronous: normal
audit:
  checkpoint_every_events: 500
scheduler:
  timezone: Asia/Urumqi
  daily_sweep: "30 7 * * mon-fri"
  misfire_grace_seconds: 600
notifications:
  channels: ["mailto://officer@example.org"]
"""


def test_defaults_with_an_empty_config(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, ""), env={})
    assert s.database_url == "sqlite:///var/safegrade.db"
    assert s.timezone == "Asia/Shanghai"
    assert s.zone.key == "Asia/Shanghai"
    assert s.rules_dir == Path("rules")
    assert s.sqlite_synchronous == "full"
    assert s.audit.checkpoint_every_events == 10_000
    assert (s.scheduler.timezone, s.scheduler.daily_sweep, s.scheduler.misfire_grace_seconds) == (
        "Asia/Shanghai", "0 8 * * *", 3600)
    assert s.notifications.channels == []
    assert s.base_dir == tmp_path.resolve()
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'safegrade.db'}"
    assert s.rules_path == tmp_path.resolve() / "rules"


def test_the_project_config_loads() -> None:
    s = load_settings(PROJECT_ROOT / "config.yaml", env={})
    assert s.rules_path == PROJECT_ROOT / "rules"
    assert s.scheduler.misfire_grace_seconds == 3600


def test_config_file_values(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, FILE), env={})
    assert s.sqlite_synchronous == "normal"
    assert s.audit.checkpoint_every_events == 500
    assert (s.scheduler.timezone, s.scheduler.daily_sweep, s.scheduler.misfire_grace_seconds) == (
        "Asia/Urumqi", "30 7 * * mon-fri", 600)
    assert s.notifications.channels == ["mailto://officer@example.org"]
    assert s.rules_path == tmp_path.resolve() / "policy"


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, ""), env={})
    with pytest.raises(ValidationError):
        s.timezone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(("url", "stored"), [
    pytest.param("postgresql://sg@db.example.org/safegrade", "postgresql+psycopg://sg@db.example.org/safegrade",
                 id="postgresql-gets-psycopg"),
    pytest.param("postgresql+psycopg://sg@db/safegrade", "postgresql+psycopg://sg@db/safegrade", id="psycopg"),
    pytest.param("sqlite+pysqlite:///x.db", "sqlite+pysqlite:///x.db", id="pysqlite"),
])
def test_database_urls_accepted(tmp_path: Path, url: str, stored: str) -> None:
    assert load_settings(config(tmp_path, f"database_url: {url}\n"), env={}).database_url == stored


# --- precedence: file < environment < overrides --------------------------------------------------

def test_env_wins_over_the_file(tmp_path: Path) -> None:
    env = {"SAFEGRADE_TIMEZONE": "UTC", "SAFEGRADE_DATABASE_URL": "postgresql+psycopg://env@db/sg",
           "SAFEGRADE_SQLITE_SYNCHRONOUS": "full"}
    s = load_settings(config(tmp_path, FILE), env=env)
    assert (s.timezone, s.database_url, s.sqlite_synchronous) == ("UTC", "postgresql+psycopg://env@db/sg", "full")
    assert s.audit.checkpoint_every_events == 500  # what the environment does not name stays from the file


def test_db_url_short_form(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, FILE), env={"SAFEGRADE_DB_URL": "postgresql://short@db/sg"})
    assert s.database_url == "postgresql+psycopg://short@db/sg"


def test_long_form_wins_over_short_form(tmp_path: Path) -> None:
    env = {"SAFEGRADE_DB_URL": "postgresql://short@db/sg", "SAFEGRADE_DATABASE_URL": "postgresql://long@db/sg"}
    assert load_settings(config(tmp_path, FILE), env=env).database_url == "postgresql+psycopg://long@db/sg"


def test_nested_env_keeps_the_rest_of_the_section(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, FILE), env={"SAFEGRADE_SCHEDULER__MISFIRE_GRACE_SECONDS": "7200"})
    assert s.scheduler.misfire_grace_seconds == 7200
    assert (s.scheduler.timezone, s.scheduler.daily_sweep) == ("Asia/Urumqi", "30 7 * * mon-fri")


def test_unrelated_safegrade_variables_are_ignored(tmp_path: Path) -> None:
    env = {"SAFEGRADE_ACTOR": "boss", "SAFEGRADE_TEST_PG_URL": "postgresql://x@y/z", "HOME": "/root",
           "SAFEGRADE_CONFIG": str(tmp_path / "other.yaml")}  # --config is given, so SAFEGRADE_CONFIG is not read
    s = load_settings(config(tmp_path, FILE), env=env)
    assert s.timezone == "Asia/Shanghai"


def test_os_environ_is_not_read_when_env_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGRADE_TIMEZONE", "UTC")
    assert load_settings(config(tmp_path, FILE), env={}).timezone == "Asia/Shanghai"


def test_overrides_win_over_env(tmp_path: Path) -> None:
    env = {"SAFEGRADE_DATABASE_URL": "postgresql+psycopg://env@db/sg", "SAFEGRADE_TIMEZONE": "UTC"}
    s = load_settings(config(tmp_path, FILE), env=env, database_url="postgresql+psycopg://cli@db/sg")
    assert s.database_url == "postgresql+psycopg://cli@db/sg"
    assert s.timezone == "UTC"


def test_override_none_means_not_given(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, FILE), env={"SAFEGRADE_TIMEZONE": "UTC"}, database_url=None, timezone=None)
    assert s.timezone == "UTC"
    assert s.database_url == "sqlite:///data/sg.db"


def test_override_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--db: .*'mysql://u@h/db' is not supported"):
        load_settings(config(tmp_path, FILE), env={}, database_url="mysql://u@h/db")


# --- paths are taken from the config file's folder ---------------------------------------------------

def test_relative_sqlite_path_is_resolved_against_the_config_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = load_settings(config(tmp_path / "site", FILE), env={})
    assert s.db_url == f"sqlite:///{(tmp_path / 'site').resolve() / 'data' / 'sg.db'}"
    assert s.rules_path == (tmp_path / "site").resolve() / "policy"


@pytest.mark.parametrize(("url", "resolved"), [
    pytest.param("sqlite:////srv/sg/sg.db", "sqlite:////srv/sg/sg.db", id="absolute"),
    pytest.param("sqlite:///:memory:", "sqlite:///:memory:", id="memory"),
    pytest.param("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db", id="postgresql"),
])
def test_other_urls_are_kept(tmp_path: Path, url: str, resolved: str) -> None:
    assert load_settings(config(tmp_path, f"database_url: '{url}'\n"), env={}).db_url == resolved


def test_pysqlite_relative_path_is_resolved(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, "database_url: sqlite+pysqlite:///sg.db\n"), env={})
    assert s.db_url == f"sqlite+pysqlite:///{tmp_path.resolve() / 'sg.db'}"


def test_absolute_rules_dir_is_kept(tmp_path: Path) -> None:
    s = load_settings(config(tmp_path, f"rules_dir: {PROJECT_ROOT / 'rules'}\n"), env={})
    assert s.rules_path == PROJECT_ROOT / "rules"


# --- refusals -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fragment"), [
    pytest.param("colour: red\n", "colour: Extra inputs are not permitted", id="unknown-top-key"),
    pytest.param("scheduler:\n  cron: '0 8 * * *'\n", "scheduler.cron: Extra inputs are not permitted",
                 id="unknown-nested-key"),
    pytest.param("timezone: Asia/Beijing\n", "timezone: Value error, unknown time zone 'Asia/Beijing'; "
                 "use an IANA name such as Asia/Shanghai", id="bad-timezone"),
    pytest.param("timezone: ''\n", "unknown time zone ''", id="empty-timezone"),
    pytest.param("scheduler:\n  timezone: Mars/Olympus\n", "scheduler.timezone: Value error, unknown time zone "
                 "'Mars/Olympus'", id="bad-scheduler-timezone"),
    pytest.param("database_url: mysql://u@h/db\n", "database_url: Value error, 'mysql://u@h/db' is not supported; "
                 "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB", id="mysql"),
    pytest.param("database_url: postgres://u@h/db\n", "'postgres://u@h/db' is not supported", id="postgres-scheme"),
    pytest.param("sqlite_synchronous: fast\n", "sqlite_synchronous: Input should be 'full' or 'normal'",
                 id="bad-synchronous"),
    pytest.param("scheduler:\n  misfire_grace_seconds: 0\n", "scheduler.misfire_grace_seconds: Input should be "
                 "greater than or equal to 1", id="zero-grace"),
    pytest.param("audit:\n  checkpoint_every_events: many\n", "audit.checkpoint_every_events:", id="non-int"),
])
def test_bad_config_is_refused_naming_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


def test_bad_env_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError,
                       match=r"^SAFEGRADE_SCHEDULER__MISFIRE_GRACE_SECONDS: Input should be a valid integer"):
        load_settings(config(tmp_path, FILE), env={"SAFEGRADE_SCHEDULER__MISFIRE_GRACE_SECONDS": "soon"})


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(config(tmp_path, FILE), env={"SAFEGRADE_TIMEZONE": "Mars/Olympus"})
    assert "SAFEGRADE_TIMEZONE" in str(info.value)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = config(tmp_path, "scheduler: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML"):
        load_settings(path, env={})


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"], ids=["list", "text", "number"])
def test_config_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value) == f"{path}: must be a mapping of settings"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.yaml", env={})
    assert str(info.value) == f"--config: no such file {tmp_path / 'nope.yaml'}"


def test_config_from_safegrade_config(tmp_path: Path) -> None:
    path = config(tmp_path, "timezone: UTC\n", name="site.yaml")
    assert find_config(None, {"SAFEGRADE_CONFIG": str(path)}) == path
    assert load_settings(env={"SAFEGRADE_CONFIG": str(path)}).timezone == "UTC"


def test_missing_safegrade_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SAFEGRADE_CONFIG: no such file"):
        load_settings(env={"SAFEGRADE_CONFIG": str(tmp_path / "nope.yaml")})


def test_config_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config(tmp_path, "timezone: UTC\n")
    monkeypatch.chdir(tmp_path)
    assert find_config(None, {}) == tmp_path / "config.yaml"
    assert load_settings(env={}).base_dir == path.resolve().parent

