"""The environment contract: what Settings.from_env accepts and refuses."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings

BASE = {
    "DB_HOST": "db.example",
    "DB_NAME": "todos",
    "DB_USER": "app",
    "DB_PASSWORD": "pw",
    "JWT_SECRET": "x" * 32,
}


def test_defaults_follow_the_documented_contract() -> None:
    s = Settings.from_env(BASE)
    assert (s.db_port, s.db_sslmode, s.jwt_expires_seconds, s.db_pool_max_idle_seconds) == (5432, "prefer", 3600, 60)
    assert s.db_pool_timeout_seconds < 29  # inside API Gateway's integration timeout
    assert (s.request_deadline_seconds, s.db_request_slots, s.db_ready_timeout_seconds) == (25.0, 12, 3.0)


def test_every_variable_of_the_contract_is_read() -> None:
    s = Settings.from_env(
        {
            **BASE,
            "DB_PORT": "6543",
            "DB_SSLMODE": "require",
            "JWT_EXPIRES_SECONDS": "120",
            "DB_POOL_MAX_IDLE_SECONDS": "2.5",
            "DB_CONNECT_TIMEOUT": "7",
            "DB_POOL_TIMEOUT_SECONDS": "9",
            "DB_POOL_MAX_SIZE": "2",
            "DB_APPLICATION_NAME": "svc",
            "DB_REQUEST_SLOTS": "6",
            "REQUEST_DEADLINE_SECONDS": "12.5",
        }
    )
    assert (s.db_request_slots, s.request_deadline_seconds) == (6, 12.5)
    assert (s.db_port, s.db_sslmode, s.jwt_expires_seconds, s.db_pool_max_idle_seconds) == (6543, "require", 120, 2.5)
    assert (s.db_connect_timeout, s.db_pool_timeout_seconds, s.db_pool_max_size) == (7, 9.0, 2)
    assert s.conninfo_kwargs()["application_name"] == "svc"
    assert s.conninfo_kwargs()["sslmode"] == "require"


@pytest.mark.parametrize("name", ["DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD", "JWT_SECRET"])
def test_a_missing_required_variable_is_named(name: str) -> None:
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(ConfigError, match=f"{name} is required"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PORT", "abc"),
        ("DB_PORT", "70000"),
        ("DB_SSLMODE", "sometimes"),
        ("JWT_EXPIRES_SECONDS", "0"),
        ("DB_POOL_MAX_IDLE_SECONDS", "nan"),
        ("DB_CONNECT_TIMEOUT", "1"),
        ("REQUEST_DEADLINE_SECONDS", "29"),
        ("REQUEST_DEADLINE_SECONDS", "0"),
        ("DB_REQUEST_SLOTS", "0"),
        ("DB_REQUEST_SLOTS", "15"),
        ("GUNICORN_THREADS", "1"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, name: value})


def test_the_database_slots_follow_the_thread_count() -> None:
    assert Settings.from_env({**BASE, "GUNICORN_THREADS": "8"}).db_request_slots == 4
    assert Settings.from_env({**BASE, "GUNICORN_THREADS": "4"}).db_request_slots == 1
    with pytest.raises(ConfigError, match="GUNICORN_THREADS - 2"):
        Settings.from_env({**BASE, "GUNICORN_THREADS": "8", "DB_REQUEST_SLOTS": "7"})


def test_a_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        Settings.from_env({**BASE, "JWT_SECRET": "short"})


def test_the_boot_tools_need_no_jwt_secret() -> None:
    env = {k: v for k, v in BASE.items() if k != "JWT_SECRET"}
    assert Settings.from_env(env, database_only=True).db_host == "db.example"
