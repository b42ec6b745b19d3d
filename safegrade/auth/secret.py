"""The signing secret of the web front door: from an environment variable or a file, never config.yaml."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

from safegrade.errors import ConfigError
from safegrade.settings import Settings

MIN_SECRET_BYTES = 32


def signing_secret(settings: Settings, *, demo: bool = False, env: Mapping[str, str] | None = None) -> bytes:
    """The secret from `web.secret_env` (the environment), else from `web.secret_file`; refused (ConfigError)
    when missing or shorter than 32 bytes, unless `demo`, which then gets a random one for this process."""
    env = os.environ if env is None else env
    variable = settings.web.secret_env
    path = settings.web_secret_path
    value: bytes | None = None
    where = ""
    if env.get(variable):
        value, where = env[variable].strip().encode("utf-8"), f"environment variable {variable}"
    elif path is not None:
        try:
            value, where = path.read_bytes().strip(), f"web.secret_file {path}"
        except OSError as exc:
            if not demo:
                raise ConfigError(f"web.secret_file: cannot read {path}: {exc.strerror}", code="no_secret",
                                  field="secret_file", value=str(path)) from None
    if value is not None and len(value) >= MIN_SECRET_BYTES:
        return value
    if demo:
        return secrets.token_bytes(MIN_SECRET_BYTES)
    hint = (f"generate one with `python -c \"import secrets; print(secrets.token_urlsafe(48))\"` and set it in "
            f"{variable} or in a file named by web.secret_file")
    if value is None:
        raise ConfigError(f"no signing secret: set the environment variable {variable} or web.secret_file; {hint}",
                          code="no_secret", field="secret_env", value=variable)
    raise ConfigError(f"the signing secret in {where} is too weak: {len(value)} bytes, at least "
                      f"{MIN_SECRET_BYTES} needed; {hint}", code="weak_secret", field="secret_env", value=where,
                      allowed=f"at least {MIN_SECRET_BYTES} bytes")
