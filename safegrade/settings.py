"""Deployment settings: config.yaml, overridden by SAFEGRADE_* environment variables, then by the
command line. Typed, and refusing unsafe values (an unknown time zone, a database that is neither
SQLite nor PostgreSQL, an unknown key).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from safegrade.errors import ConfigError
from safegrade.scheduler.crontab import check_crontab

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
    return value


class AuditSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    checkpoint_every_events: int = Field(10_000, ge=1)


class SchedulerSettings(BaseModel):
    """The embedded scheduler (`safegrade scheduler run`): crontabs read as cron reads them (weekdays 0-7,
    0 and 7 = Sunday, or sun-sat), in `timezone`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    timezone: str = "Asia/Shanghai"
    daily_sweep: str = "0 8 * * *"  # deadlines, escalations, reminders queued and sent
    reminder_retry: str = "*/15 * * * *"  # queued and retrying reminders delivered between daily sweeps
    nightly_audit: str = "30 2 * * *"  # audit checkpoint, then verify every chain
    misfire_grace_seconds: int = Field(3600, ge=1)  # a run this late still runs; later, the next run covers it

    _tz = field_validator("timezone")(_zone)
    _crontab = field_validator("daily_sweep", "reminder_retry", "nightly_audit")(check_crontab)


class ChannelSettings(BaseModel):
    """A channel written as a mapping: which audiences and districts it serves (a bare URL serves all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    url: str
    audiences: tuple[str, ...] = ("enterprise", "district", "bureau")
    districts: tuple[str, ...] = ()  # district codes or names (checked against the rules); empty: every district


class RetrySettings(BaseModel):
    """How the reminder outbox retries: attempt n waits backoff_seconds·backoff_factor^(n-1); a claimed
    message is leased for lease_seconds, after which another sender may take it over."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_attempts: int = Field(6, ge=1)
    backoff_seconds: int = Field(300, ge=1)
    backoff_factor: float = Field(2.0, ge=1)
    lease_seconds: int = Field(600, ge=1)


class NotificationSettings(BaseModel):
    """Where reminders go (safegrade.notify.channels): Apprise URLs, checked here so that a bad one stops the program
    at start-up with its key, never in the middle of a send."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channels: list[str | ChannelSettings] = Field(default_factory=list)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @field_validator("channels", mode="before")
    @classmethod
    def _checked_channels(cls, value: Any) -> Any:
        from safegrade.notify.channels import check_channels  # apprise is imported only when a URL needs it

        return check_channels(value, "notifications.channels")


class LockoutSettings(BaseModel):
    """Failed sign-ins: `max_failures` for one account (or `per_client_max_failures` from one client address)
    within `window_minutes` lock it for `lock_minutes`; the lock ends by the clock."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_failures: int = Field(5, ge=1)
    window_minutes: int = Field(15, ge=1)
    lock_minutes: int = Field(15, ge=1)
    per_client_max_failures: int = Field(20, ge=1)


DEFAULT_UPLOAD_TYPES: tuple[str, ...] = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/csv",
)


class UploadSettings(BaseModel):
    """What the API accepts as an uploaded file (evidence, ledgers, assessments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_bytes: int = Field(20 * 1024 * 1024, ge=1)
    allowed_types: tuple[str, ...] = DEFAULT_UPLOAD_TYPES

    @field_validator("allowed_types")
    @classmethod
    def _mime_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for t in value:
            if t.count("/") != 1 or not all(part.strip() for part in t.split("/")):
                raise ValueError(f"{t!r} is not a MIME type such as application/pdf")
        return value


class WebSettings(BaseModel):
    """The HTTP API and the pages (`safegrade web`): sessions, lockout, uploads, API tokens, the signing secret.
    The secret itself is never in this file: it is read from the environment variable `secret_env`, or from
    `secret_file` (safegrade.auth.signing_secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base_url: str = "http://127.0.0.1:8000"  # https: the session cookie is marked Secure
    session_idle_minutes: int = Field(30, ge=1)
    session_absolute_hours: int = Field(8, ge=1)
    lockout: LockoutSettings = Field(default_factory=LockoutSettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    token_max_days: int = Field(365, ge=1)
    secret_env: str = "SAFEGRADE_WEB_SECRET"
    secret_file: Path | None = None  # relative to the config file's folder

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1].strip("/")) == 0:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAFEGRADE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/safegrade.db"
    timezone: str = "Asia/Shanghai"
    rules_dir: Path = Path("rules")
    evidence_dir: Path = Path("var/evidence")  # rectification evidence, stored by SHA-256
    sqlite_synchronous: Literal["full", "normal"] = "full"
    audit: AuditSettings = Field(default_factory=AuditSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    base_dir: Path = Path(".")  # the config file's folder: relative paths are taken from here

    _tz = field_validator("timezone")(_zone)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+pysqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(
                f"{value!r} is not supported; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
            )
        if value.startswith("postgresql:"):
            value = "postgresql+psycopg:" + value[len("postgresql:"):]
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def rules_path(self) -> Path:
        return self.rules_dir if self.rules_dir.is_absolute() else self.base_dir / self.rules_dir

    @property
    def evidence_path(self) -> Path:
        return self.evidence_dir if self.evidence_dir.is_absolute() else self.base_dir / self.evidence_dir

    @property
    def web_secret_path(self) -> Path | None:
        """The signing secret's file, taken from the config file's folder when relative; None: not set."""
        path = self.web.secret_file
        if path is None:
            return None
        return path if path.is_absolute() else self.base_dir / path

    @property
    def db_url(self) -> str:
        """The database URL with a relative SQLite path taken from the config file's folder."""
        url = self.database_url
        for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
            if url.startswith(prefix):
                path = url[len(prefix):]
                if path and path != ":memory:" and not path.startswith("/"):
                    return prefix + str((self.base_dir / path).resolve())
        return url


_NOT_SETTINGS = {"SAFEGRADE_DB_URL", "SAFEGRADE_CONFIG", "SAFEGRADE_ACTOR", "SAFEGRADE_TEST_PG_URL",
                 "SAFEGRADE_WEB_SECRET"}  # the secret is read by safegrade.auth, never kept in the settings


class _MappingEnvSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of os.environ (entry points take inputs)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _settings_class(env: Mapping[str, str]) -> type[Settings]:
    """Settings whose environment is `env`; every Settings is built through this class, never directly."""

    class _FromEnv(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (pydantic-settings passes all by name)
            dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
            file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # the environment (the given mapping, not os.environ) wins over config.yaml, handed in as init values
            return (_MappingEnvSource(settings_cls, env), init_settings)

    return _FromEnv


def find_config(explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """--config, else $SAFEGRADE_CONFIG, else ./config.yaml, else the project's own config.yaml."""
    env = os.environ if env is None else env
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{{config}}: no such file {explicit}", code="no_such_file", field="config",
                              value=str(explicit))
        return explicit
    if env.get("SAFEGRADE_CONFIG"):
        path = Path(env["SAFEGRADE_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"SAFEGRADE_CONFIG: no such file {path}", code="no_such_file", value=str(path))
        return path
    for candidate in (Path.cwd() / "config.yaml", PROJECT_ROOT / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    config: Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Settings from the config file and the environment, then `overrides` (the command line)."""
    env = dict(os.environ if env is None else env)
    path = find_config(config, env)
    doc: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}", code="invalid_yaml", value=str(path)) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: must be a mapping of settings", code="wrong_shape", value=str(path),
                              allowed="a mapping of settings")
        doc = dict(loaded or {})
        doc.setdefault("base_dir", str(path.resolve().parent))
    else:
        doc.setdefault("base_dir", str(Path.cwd()))
    if "SAFEGRADE_DB_URL" in env and "SAFEGRADE_DATABASE_URL" not in env:
        env["SAFEGRADE_DATABASE_URL"] = env["SAFEGRADE_DB_URL"]
    env = {k: v for k, v in env.items() if k.startswith("SAFEGRADE_") and k not in _NOT_SETTINGS}
    # a relative SQLite path typed on the command line or in the environment means the working directory
    for source in (env, overrides):
        for key in ("SAFEGRADE_DATABASE_URL", "database_url"):
            if isinstance(source.get(key), str):
                source[key] = _absolute_sqlite(source[key])
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = _settings_class(env)(**doc)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path, env, {}), code="invalid_setting") from None
    if not given:
        return settings
    try:
        return _settings_class({})(**{**settings.model_dump(), **given})
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path, env, given), code="invalid_setting", others=list(given)) from None


def _absolute_sqlite(url: str) -> str:
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            if rest and rest != ":memory:" and not rest.startswith("/"):
                return prefix + str((Path.cwd() / rest).resolve())
    return url


def _explain(exc: ValidationError, path: Path | None, env: Mapping[str, str], given: Mapping[str, Any]) -> str:
    """Each problem attributed to where the value came from: an option, a variable, or the file."""
    parts = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        variable = "SAFEGRADE_" + "__".join(loc).upper()
        if loc and loc[0] in given:
            where = "{" + loc[0] + "}"  # the field given by the caller, worded by the front door
        elif variable in env:
            where = variable
        else:
            where = f"{path}: {'.'.join(loc) or '(top)'}" if path else ".".join(loc) or "settings"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)
