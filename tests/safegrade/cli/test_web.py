"""`safegrade web`: uvicorn over the app factory (by import string, so --workers works), settings handed to the
workers through the environment, and a refusal to start without a strong signing secret."""

from __future__ import annotations

import os

import pytest

SECRET = "SAFEGRADE_WEB_SECRET"
STRONG = "f3b1c9e07a5d4c2b8e6f1a0d9c7b5e3a1f2d4c6b8a0e9d7c5b3a1f0e2d4c6b8a"


@pytest.fixture
def served(cli, monkeypatch):
    """`safegrade web …` with uvicorn.run replaced by a recorder."""
    import uvicorn

    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    for name in ("SAFEGRADE_CONFIG", "SAFEGRADE_DB_URL"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test: `web` sets them
    assert cli("init")[0] == 0
    return cli, calls


def test_web_serves_the_factory_with_the_workers_asked_and_prints_the_url(served, monkeypatch):
    cli, calls = served
    monkeypatch.setenv(SECRET, STRONG)
    code, out, err = cli("web", "--port", "8123", "--workers", "2")
    assert code == 0, err
    [(args, kwargs)] = calls
    assert args == ("safegrade.api.app:app_from_environment",)
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", 8123, 2)
    assert "http://127.0.0.1:8123/api/v1" in out
    assert os.environ["SAFEGRADE_DB_URL"].startswith("sqlite:///")


@pytest.mark.parametrize("secret", [None, "", "short", "password" * 2])
def test_web_refuses_to_start_without_a_strong_secret(served, monkeypatch, secret):
    cli, calls = served
    if secret is None:
        monkeypatch.delenv(SECRET, raising=False)
    else:
        monkeypatch.setenv(SECRET, secret)
    code, _, err = cli("web")
    assert code == 1
    assert "secret" in err.lower()
    assert calls == []


@pytest.mark.slow
def test_web_really_serves_the_api(tmp_path):
    """uvicorn started by the command in its own process answers on the port, with the headers."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from safegrade.settings import PROJECT_ROOT

    db = f"sqlite:///{tmp_path / 'web.db'}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", SECRET: STRONG}
    init = subprocess.run([sys.executable, "-m", "safegrade", "--db", db, "init"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "safegrade", "--db", db, "web", "--port", str(port)],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)  # the server is starting: waiting for a real process, not moving time
        assert answer is not None, "the server did not answer within 60 s"
        assert answer.status_code == 200
        assert answer.json()["info"]["title"] == "safegrade API"
        assert answer.headers["x-frame-options"] == "DENY"
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=5)
        assert me.status_code == 401
        assert me.headers["content-type"] == "application/problem+json"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/api/v1" in out
