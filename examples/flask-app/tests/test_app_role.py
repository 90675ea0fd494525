"""python -m app.app_role: the app's own role owns its schema and nothing else, on real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from app.app_role import ensure_app_role
from app.migrate import DEFAULT_DIR, discover, migrate

from .conftest import APP_DIR
from .pgcluster import PgServer

APP_PASSWORD = "app-role-password-0123456789"


@pytest.fixture
def role() -> str:
    return f"app_{uuid.uuid4().hex[:10]}"


def _as_app(pg: PgServer, dbname: str, role: str, password: str = APP_PASSWORD) -> psycopg.Connection:
    return psycopg.connect(host=pg.host, port=pg.port, dbname=dbname, user=role, password=password, autocommit=True)


def _provision(pg: PgServer, dbname: str, role: str, password: str = APP_PASSWORD) -> list[str]:
    with pg.connect(dbname) as admin:
        admin.autocommit = True
        return ensure_app_role(admin, role, password)


def test_the_role_logs_in_with_its_password_and_has_no_administrative_attribute(
    pg: PgServer, fresh_db: str, role: str
) -> None:
    assert f"created role {role}" in _provision(pg, fresh_db, role)
    with pg.connect(fresh_db) as admin:
        attrs = admin.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit"
            " FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone()
        stored = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
    assert attrs == (False, False, False, False, False, False)
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert APP_PASSWORD not in stored
    with _as_app(pg, fresh_db, role) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == role
    with pytest.raises(psycopg.OperationalError):
        _as_app(pg, fresh_db, role, "wrong-password-0123456789")


def test_migrations_run_as_the_role_create_its_tables_in_its_schema(pg: PgServer, fresh_db: str, role: str) -> None:
    _provision(pg, fresh_db, role)
    with _as_app(pg, fresh_db, role) as conn:
        migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
        conn.execute("INSERT INTO users (username, password_hash) VALUES ('alice', 'x')")
        owners = conn.execute(
            "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 'app')"
        ).fetchall()
    assert sorted(owners) == [("app", "schema_migrations", role), ("app", "todos", role), ("app", "users", role)]


def test_the_role_can_do_nothing_outside_its_schema(pg: PgServer, fresh_db: str, role: str) -> None:
    _provision(pg, fresh_db, role)
    with pg.connect(fresh_db) as admin:
        admin.execute("CREATE TABLE public.admin_only (secret text)")
        admin.commit()
    with _as_app(pg, fresh_db, role) as conn:
        for statement in (
            "CREATE TABLE public.squat (x int)",
            "SELECT * FROM public.admin_only",
            "CREATE DATABASE other",
            "CREATE ROLE other",
            "SELECT rolpassword FROM pg_authid",
            "ALTER ROLE CURRENT_USER SUPERUSER",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_second_run_changes_nothing_but_the_password(pg: PgServer, fresh_db: str, role: str) -> None:
    _provision(pg, fresh_db, role)
    with _as_app(pg, fresh_db, role) as conn:
        migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
        conn.execute("INSERT INTO users (username, password_hash) VALUES ('bob', 'x')")
    rotated = "rotated-app-role-password-9876543210"
    assert _provision(pg, fresh_db, role, rotated) == []
    with _as_app(pg, fresh_db, role, rotated) as conn:
        assert conn.execute("SELECT username FROM users").fetchall() == [("bob",)]
    with pytest.raises(psycopg.OperationalError):
        _as_app(pg, fresh_db, role)


def test_a_database_migrated_before_the_role_existed_keeps_every_row(pg: PgServer, fresh_db: str, role: str) -> None:
    with pg.connect(fresh_db) as admin:
        admin.autocommit = True
        migrate(admin, discover(DEFAULT_DIR), say=lambda _: None)
        user_id = admin.execute(
            "INSERT INTO users (username, password_hash) VALUES ('carol', 'h') RETURNING id"
        ).fetchone()[0]
        admin.execute("INSERT INTO todos (user_id, title) VALUES (%s, 'keep me')", (user_id,))
    done = _provision(pg, fresh_db, role)
    assert done[-1] == "moved 3 tables from public to app: schema_migrations, todos, users"
    with _as_app(pg, fresh_db, role) as conn:
        assert migrate(conn, discover(DEFAULT_DIR), say=lambda _: None) == []
        assert conn.execute("SELECT u.username, t.title FROM todos t JOIN users u ON u.id = t.user_id").fetchall() == [
            ("carol", "keep me")
        ]
        # Identity columns keep counting where they were.
        new_id = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ('dave', 'h') RETURNING id"
        ).fetchone()[0]
    assert new_id == user_id + 1


def test_bad_input_is_refused_before_any_change(pg: PgServer, fresh_db: str) -> None:
    with pg.connect(fresh_db) as admin:
        admin.autocommit = True
        with pytest.raises(ValueError, match="DB_USER"):
            ensure_app_role(admin, 'app"; DROP TABLE x; --', APP_PASSWORD)
        with pytest.raises(ValueError, match="at least 16"):
            ensure_app_role(admin, "app_short", "short")
        with pytest.raises(ValueError, match="administrator"):
            ensure_app_role(admin, admin.info.user, APP_PASSWORD)


def test_the_command_line_reports_missing_settings_and_never_prints_the_password(
    pg: PgServer, fresh_db: str, role: str
) -> None:
    env = {
        **os.environ,
        **pg.db_env(fresh_db),
        "DB_ADMIN_USER": pg.user,
        "DB_ADMIN_PASSWORD": pg.password,
        "DB_USER": role,
        "DB_PASSWORD": APP_PASSWORD,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    ok = subprocess.run(
        [sys.executable, "-m", "app.app_role"], cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert f"created role {role}" in ok.stdout
    assert APP_PASSWORD not in ok.stdout + ok.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "app.app_role"],
        cwd=APP_DIR,
        env={k: v for k, v in env.items() if k != "DB_ADMIN_PASSWORD"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "DB_ADMIN_PASSWORD is not set" in missing.stderr


def test_an_administrator_who_is_not_superuser_can_provision_and_hand_over_tables(pg: PgServer, role: str) -> None:
    # Like Aurora's master user: CREATEROLE and CREATEDB, owner of the database, not superuser.
    admin_role, admin_password = f"master_{uuid.uuid4().hex[:8]}", "master-password-0123456789"
    dbname = f"t_{uuid.uuid4().hex[:16]}"
    with pg.connect() as su:
        su.execute(f"CREATE ROLE {admin_role} LOGIN CREATEROLE CREATEDB PASSWORD '{admin_password}'")
        su.execute(f'CREATE DATABASE "{dbname}" OWNER {admin_role}')
    try:
        with psycopg.connect(
            host=pg.host, port=pg.port, dbname=dbname, user=admin_role, password=admin_password, autocommit=True
        ) as admin:
            migrate(admin, discover(DEFAULT_DIR), say=lambda _: None)
            admin.execute("INSERT INTO users (username, password_hash) VALUES ('erin', 'h')")
            assert ensure_app_role(admin, role, APP_PASSWORD)[-1].startswith("moved 3 tables")
        with _as_app(pg, dbname, role) as conn:
            assert conn.execute("SELECT username FROM users").fetchall() == [("erin",)]
    finally:
        with pg.connect() as su:
            su.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            su.execute(f"DROP OWNED BY {role}")
            su.execute(f"DROP ROLE IF EXISTS {role}")
            su.execute(f"DROP ROLE IF EXISTS {admin_role}")
