"""python -m app.app_role: the app's own role owns its schema and nothing else, on real PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from app import app_role, boot, create_app
from app.app_role import ensure_app_role
from app.config import Settings
from app.migrate import DEFAULT_DIR, discover, migrate

from .conftest import APP_DIR, JWT_SECRET, IamStandIn, new_user
from .pgcluster import PgCluster, PgServer, free_port

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


def test_the_command_line_sets_the_role_up_and_never_prints_a_password(pg: PgServer, fresh_db: str, role: str) -> None:
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
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"app_role: created role {role}" in ok.stdout
    assert "database answered SELECT 1" in ok.stdout
    assert APP_PASSWORD not in ok.stdout + ok.stderr and pg.password not in ok.stdout + ok.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "app.app_role"],
        cwd=APP_DIR,
        env={k: v for k, v in env.items() if k != "DB_ADMIN_USER"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "app_role: bad setting: DB_ADMIN_USER is required but not set" in missing.stdout


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
            # The next deploy runs the step again: ALTER ROLE must not name attributes only a
            # superuser may set (SUPERUSER, REPLICATION, BYPASSRLS), even to switch them off.
            ensure_app_role(admin, role, APP_PASSWORD + "-rotated")
        with _as_app(pg, dbname, role, APP_PASSWORD + "-rotated") as conn:
            assert conn.execute("SELECT username FROM users").fetchall() == [("erin",)]
    finally:
        with pg.connect() as su:
            su.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            su.execute(f"DROP OWNED BY {role}")
            su.execute(f"DROP ROLE IF EXISTS {role}")
            su.execute(f"DROP ROLE IF EXISTS {admin_role}")


# --- redeploys without the master password ------------------------------------------------


def _main(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = app_role.main(env)
    return status, capsys.readouterr().out


def _admin_env(pg: PgServer, dbname: str, role: str, **extra: str) -> dict[str, str]:
    return {
        **pg.db_env(dbname),
        "DB_ADMIN_USER": pg.user,
        "DB_ADMIN_PASSWORD": pg.password,
        "DB_USER": role,
        "DB_PASSWORD": APP_PASSWORD,
        "DB_WAKE_DEADLINE_SECONDS": "10",
        **extra,
    }


@pytest.mark.parametrize("admin_password", [None, "wrong-master-password-0123"])
def test_a_redeploy_without_a_working_master_password_succeeds_when_the_role_is_set_up(
    pg: PgServer, fresh_db: str, role: str, admin_password: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _admin_env(pg, fresh_db, role)
    assert _main(env, capsys)[0] == 0
    env = {k: v for k, v in env.items() if k != "DB_ADMIN_PASSWORD"}
    if admin_password:
        env["DB_ADMIN_PASSWORD"] = admin_password
    started = time.monotonic()
    status, out = _main(env, capsys)
    assert status == 0, out
    assert time.monotonic() - started < 5, "a refused login is not retried until the deadline"
    if admin_password:
        assert f'{pg.user} cannot log in (connection failed: connection to server at "127.0.0.1"' in out
        assert "password authentication failed" in out
    else:
        assert "DB_ADMIN_PASSWORD is not set" in out
    assert f"{role} is set up already (logged in as it with its password; owner of schema app)" in out
    assert admin_password is None or admin_password not in out
    assert APP_PASSWORD not in out


def test_without_a_master_password_a_role_not_set_up_fails_clearly(
    pg: PgServer, fresh_db: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in _admin_env(pg, fresh_db, role).items() if k != "DB_ADMIN_PASSWORD"}
    status, out = _main(env, capsys)
    assert status == 1
    assert f"app_role: failed: {role} cannot log in either" in out
    assert "needs the master user's password in DB_ADMIN_PASSWORD" in out
    # A role that logs in but lost its schema is not "set up" either.
    assert _main(_admin_env(pg, fresh_db, role), capsys)[0] == 0
    with pg.connect(fresh_db) as admin:
        admin.execute(f"ALTER SCHEMA app OWNER TO {pg.user}")
    status, out = _main({**env, "DB_ADMIN_PASSWORD": "wrong-master-password-0123"}, capsys)
    assert status == 1
    assert f"{role} is not fully set up (the schema app belongs to {pg.user}, not {role})" in out


def test_the_admin_step_exits_like_the_boot(
    pg: PgServer, fresh_db: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main({**_admin_env(pg, fresh_db, role), "DB_PASSWORD": "short"}, capsys) == (
        2,
        "app_role: bad setting: DB_PASSWORD of the app role must be at least 16 characters\n",
    )
    status, out = _main({**_admin_env(pg, fresh_db, role), "DB_SCHEMA": "App-Schema"}, capsys)
    assert status == 2 and "bad setting: DB_SCHEMA 'App-Schema'" in out
    status, out = _main({**_admin_env(pg, fresh_db, role), "DB_USER": pg.user}, capsys)
    assert status == 2 and "is DB_ADMIN_USER" in out
    away = {**_admin_env(pg, fresh_db, role), "DB_PORT": str(free_port()), "DB_WAKE_DEADLINE_SECONDS": "2"}
    status, out = _main(away, capsys)
    assert status == 124
    assert re.search(r"app_role: gave up after 2\.\d s: 127\.0\.0\.1:\d+ never accepted a TCP connection", out), out


def test_the_admin_step_waits_for_a_database_that_starts_late(role: str, tmp_path: Path) -> None:
    cluster = PgCluster().init()
    try:
        env = {
            **os.environ,
            **_admin_env(cluster.server, "postgres", role),
            "DB_WAKE_DEADLINE_SECONDS": "60",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        timer = threading.Timer(4.0, cluster.start)
        timer.start()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "app.app_role"], cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=90
        )
        timer.join()
        assert result.returncode == 0, result.stdout + result.stderr
        assert time.monotonic() - started >= 4.0
        assert re.search(r"app_role: database answered SELECT 1: woke after [2-9]\.\d s", result.stdout), result.stdout
        assert f"app_role: created role {role}" in result.stdout
    finally:
        cluster.destroy()


# --- IAM database authentication ----------------------------------------------------------


def test_without_rds_iam_the_iam_mode_is_refused_with_a_clear_message(pg: PgServer, fresh_db: str, role: str) -> None:
    # The plain test server has no rds_iam role, like a PostgreSQL without RDS's IAM support.
    with pg.connect(fresh_db) as admin, pytest.raises(ValueError, match="the role rds_iam does not exist"):
        ensure_app_role(admin, role, None, iam=True)
    with pg.connect(fresh_db) as admin:
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None


def test_iam_mode_grants_rds_iam_and_sets_no_password(
    iam_env: tuple[IamStandIn, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in, env = iam_env
    pg, role = stand_in.pg, stand_in.role
    admin_env = {**env, "DB_ADMIN_USER": pg.user, "DB_ADMIN_PASSWORD": pg.password}
    status, out = _main(admin_env, capsys)
    assert status == 0, out
    assert f"app_role: granted rds_iam to {role}: it logs in with IAM auth tokens only" in out
    assert f"app_role: {role} is set up: owner of schema app, logs in with IAM auth tokens (rds_iam)" in out
    with pg.connect(env["DB_NAME"]) as admin:
        row = admin.execute(
            "SELECT a.rolpassword IS NULL, pg_has_role(a.rolname, 'rds_iam', 'MEMBER'), a.rolcanlogin"
            " FROM pg_authid a WHERE a.rolname = %s",
            (role,),
        ).fetchone()
    assert row == (True, True, True)
    # A second run changes nothing; the app then boots and migrates as the role, with a token.
    status, out = _main(admin_env, capsys)
    assert status == 0 and "granted" not in out and "created" not in out
    assert boot.main(env) == 0
    # Back to passwords: rds_iam is revoked (on RDS its members cannot log in with one).
    status, out = _main({**admin_env, "DB_IAM_AUTH": "0", "DB_PASSWORD": APP_PASSWORD}, capsys)
    assert status == 0 and f"revoked rds_iam from {role}" in out
    assert all(token not in out for token in stand_in.tokens)


def test_iam_mode_redeploys_with_a_rotated_master_password_by_logging_in_as_the_role(
    iam_env: tuple[IamStandIn, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in, env = iam_env
    pg, role = stand_in.pg, stand_in.role
    rotated = {**env, "DB_ADMIN_USER": pg.user, "DB_ADMIN_PASSWORD": "rotated-master-password-0123"}
    # Never set up: the role cannot log in, so the step fails and says what it needs.
    status, out = _main(rotated, capsys)
    assert status == 1, out
    assert f"app_role: failed: {role} cannot log in either" in out
    # Set up once with the right password; then the rotated one is enough.
    assert _main({**rotated, "DB_ADMIN_PASSWORD": pg.password}, capsys)[0] == 0
    status, out = _main(rotated, capsys)
    assert status == 0, out
    assert f"{role} is set up already (logged in as it with an IAM auth token, member of rds_iam;" in out
    # A role that lost rds_iam is not set up for IAM.
    with pg.connect() as su:
        su.execute(f"REVOKE rds_iam FROM {role}")
    status, out = _main(rotated, capsys)
    assert status == 1 and f"{role} is not a member of rds_iam" in out
    assert stand_in.tokens and all(token not in out for token in stand_in.tokens)


def test_iam_mode_needs_tls_and_a_region_before_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_NAME": "x",
        "DB_USER": "flask_app",
        "DB_IAM_AUTH": "1",
        "DB_ADMIN_USER": "postgres",
        "DB_ADMIN_PASSWORD": "x",
    }
    status, out = _main({**env, "AWS_REGION": "ap-southeast-1", "DB_SSLMODE": "disable"}, capsys)
    assert status == 2 and "DB_SSLMODE=disable cannot be used with DB_IAM_AUTH=1" in out
    status, out = _main(env, capsys)
    assert status == 2 and "needs the database's AWS region in AWS_REGION" in out


# --- the rolling deploy that moves the tables ---------------------------------------------


def test_tasks_of_the_previous_version_keep_working_while_the_tables_move(
    pg: PgServer, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Like Aurora's master user: CREATEROLE and CREATEDB, owner of the database, not superuser.
    admin_role, admin_password = f"master_{uuid.uuid4().hex[:8]}", "master-password-0123456789"
    dbname = f"t_{uuid.uuid4().hex[:16]}"
    with pg.connect() as su:
        su.execute(f"CREATE ROLE {admin_role} LOGIN CREATEROLE CREATEDB PASSWORD '{admin_password}'")
        su.execute(f'CREATE DATABASE "{dbname}" OWNER {admin_role}')
    old_env = {**pg.db_env(dbname), "DB_USER": admin_role, "DB_PASSWORD": admin_password, "JWT_SECRET": JWT_SECRET}
    old_app = create_app(dataclasses.replace(Settings.from_env(old_env), db_pool_timeout_seconds=5.0))
    try:
        # The previous version: migrated and serving as the master user, tables in public.
        assert boot.main(old_env) == 0
        client = old_app.test_client()
        alice = new_user(client, "alice")
        assert client.post("/todos", json={"title": "before"}, headers=alice.headers).status_code == 201
        # Its pool holds open connections (search_path "$user", public) while the new version deploys.
        threads = [threading.Thread(target=lambda: client.get("/todos", headers=alice.headers)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        admin_env = {**old_env, "DB_ADMIN_USER": admin_role, "DB_ADMIN_PASSWORD": admin_password}
        status, out = _main({**admin_env, "DB_USER": role, "DB_PASSWORD": APP_PASSWORD}, capsys)
        assert status == 0, out
        assert "moved 3 tables from public to app" in out
        assert re.search(r"ended [1-9]\d* of its sessions named flask-app", out), out

        # The old version, still running: every request works, reads and writes.
        for _ in range(5):
            listed = client.get("/todos", headers=alice.headers)
            assert listed.status_code == 200, listed.get_json()
            assert [t["title"] for t in listed.get_json()["items"]][:1] == ["before"]
        assert client.post("/todos", json={"title": "during"}, headers=alice.headers).status_code == 201
        assert new_user(client, "bob").id > alice.id

        # The new version, as the role, sees every row.
        with _as_app(pg, dbname, role) as conn:
            assert conn.execute("SELECT title FROM todos ORDER BY id").fetchall() == [("before",), ("during",)]
    finally:
        old_app.extensions["db"].close()
        with pg.connect() as su:
            su.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            su.execute(f"DROP OWNED BY {role}")
            su.execute(f"DROP ROLE IF EXISTS {role}")
            su.execute(f"DROP ROLE IF EXISTS {admin_role}")


def test_a_role_someone_made_a_replication_role_is_refused_not_kept(pg: PgServer, fresh_db: str, role: str) -> None:
    with pg.connect() as su:
        su.execute(f"CREATE ROLE {role} LOGIN REPLICATION")
    try:
        with pytest.raises(ValueError, match="SUPERUSER, REPLICATION or BYPASSRLS"):
            _provision(pg, fresh_db, role)
    finally:
        with pg.connect() as su:
            su.execute(f"DROP ROLE IF EXISTS {role}")
