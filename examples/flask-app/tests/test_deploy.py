"""app.boot.deploy: the deploy-time step (admin step, then migrations as the app's role), on real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from app import boot
from app.boot import StepFailedError
from app.migrate import DEFAULT_DIR

from .conftest import APP_DIR, IamStandIn
from .pgcluster import PgCluster, PgServer, free_port

APP_PASSWORD = "deploy-app-password-0123456789"


@pytest.fixture
def role() -> str:
    return f"app_{uuid.uuid4().hex[:10]}"


def _env(pg: PgServer, dbname: str, role: str, **extra: str) -> dict[str, str]:
    return {
        **pg.db_env(dbname),
        "DB_USER": role,
        "DB_PASSWORD": APP_PASSWORD,
        "DB_ADMIN_USER": pg.user,
        "DB_ADMIN_PASSWORD": pg.password,
        "DB_WAKE_DEADLINE_SECONDS": "10",
        **extra,
    }


def _owners(pg: PgServer, dbname: str) -> list[tuple[str, str, str]]:
    with pg.connect(dbname) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 'app')"
            " ORDER BY 1, 2"
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_deploy_sets_up_the_role_then_migrates_as_it_and_a_second_one_changes_nothing(
    pg: PgServer, fresh_db: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(pg, fresh_db, role)
    assert boot.deploy(env) == ["0001_users_and_todos.sql"]
    out = capsys.readouterr().out
    assert f"app_role: created role {role}" in out
    assert "migrate: applied 0001_users_and_todos.sql" in out
    assert "deploy: done in" in out
    assert _owners(pg, fresh_db) == [("app", "schema_migrations", role), ("app", "todos", role), ("app", "users", role)]
    # The next deploy, with the master password rotated: nothing to do, and it still succeeds.
    assert boot.deploy({**env, "DB_ADMIN_PASSWORD": "rotated-master-password-0123"}) == []
    out = capsys.readouterr().out
    assert "is set up already" in out and "migrate: schema up to date (1 migrations)" in out
    assert APP_PASSWORD not in out and pg.password not in out


def test_a_failing_migration_fails_the_deploy_with_its_real_error(
    pg: PgServer, fresh_db: str, role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(DEFAULT_DIR, migrations)
    (migrations / "0002_add_priority.sql").write_text("ALTER TABLE todos ADD COLUMN priority no_such_type;\n")
    with pytest.raises(StepFailedError) as failed:
        boot.deploy(_env(pg, fresh_db, role, MIGRATIONS_DIR=str(migrations)))
    assert failed.value.status == 1
    assert str(failed.value).startswith('migrate: failed: UndefinedObject: type "no_such_type" does not exist')
    assert 'migrate: failed: UndefinedObject: type "no_such_type" does not exist' in capsys.readouterr().out
    # 0001 applied and recorded, 0002 rolled back entirely.
    with pg.connect(fresh_db) as conn:
        assert conn.execute("SELECT name FROM app.schema_migrations").fetchall() == [("0001_users_and_todos.sql",)]


def test_a_deploy_reports_bad_settings_and_an_absent_database_with_the_boot_s_statuses(
    pg: PgServer, fresh_db: str, role: str
) -> None:
    with pytest.raises(StepFailedError, match=r"^deploy: bad setting: DB_NAME is required") as failed:
        boot.deploy({k: v for k, v in _env(pg, fresh_db, role).items() if k != "DB_NAME"})
    assert failed.value.status == 2
    away = _env(pg, fresh_db, role, DB_PORT=str(free_port()), DB_WAKE_DEADLINE_SECONDS="2")
    with pytest.raises(
        StepFailedError, match=r"^app_role: gave up after 2\.\d s: 127\.0\.0\.1:\d+ never accepted"
    ) as failed:
        boot.deploy(away)
    assert failed.value.status == 124


def test_without_an_administrator_the_deploy_only_migrates(
    pg: PgServer, fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**pg.db_env(fresh_db), "DB_WAKE_DEADLINE_SECONDS": "10"}
    assert boot.deploy(env) == ["0001_users_and_todos.sql"]
    assert "deploy: DB_ADMIN_USER is not set, no admin step" in capsys.readouterr().out


def test_iam_mode_deploy_grants_rds_iam_and_migrates_with_a_token(
    iam_env: tuple[IamStandIn, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in, env = iam_env
    pg = stand_in.pg
    assert boot.deploy({**env, "DB_ADMIN_USER": pg.user, "DB_ADMIN_PASSWORD": pg.password}) == [
        "0001_users_and_todos.sql"
    ]
    out = capsys.readouterr().out
    assert f"granted rds_iam to {stand_in.role}" in out
    assert stand_in.tokens and all(token not in out for token in stand_in.tokens)
    assert {owner for _, _, owner in _owners(pg, env["DB_NAME"])} == {stand_in.role}


def test_the_deploy_wakes_a_database_that_starts_late_and_runs_as_a_command(role: str) -> None:
    cluster = PgCluster().init()
    try:
        env = {
            **os.environ,
            **_env(cluster.server, "postgres", role),
            "DB_WAKE_DEADLINE_SECONDS": "60",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        timer = threading.Timer(3.0, cluster.start)
        timer.start()
        result = subprocess.run(
            [sys.executable, "-m", "app.boot", "deploy"],
            cwd=APP_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        timer.join()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "app_role: database answered SELECT 1: woke after" in result.stdout
        assert "migrate: applied 0001_users_and_todos.sql" in result.stdout
        failed = subprocess.run(
            [sys.executable, "-m", "app.boot", "deploy"],
            cwd=APP_DIR,
            env={**env, "DB_SSLMODE": "sometimes"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert failed.returncode == 2 and "deploy: bad setting: DB_SSLMODE" in failed.stdout
    finally:
        cluster.destroy()
