"""Two real PostgreSQL servers: a source (the Debian package's major, older than Aurora's) and a
target of the platform's Aurora major (16), each a throwaway cluster.

The target is set up the way a deployed platform leaves it: a master user that is not a
superuser (as on Aurora, where it is rds_superuser), the app's role and schema made by the app's
own admin step (app/app_role.py) and its migrations applied by the app as that role.
The import runs as the task runs it: ``python3 import.py`` in a subprocess, settings in its
environment, pg_restore and psql of the target's major (PG_BIN).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

HERE = Path(__file__).resolve().parent
IMPORTER = HERE.parent / "import.py"
MAKE_MANIFEST = HERE.parent / "make-manifest.py"
REPO = HERE.parents[2]
FLASK_APP = REPO / "examples" / "flask-app"
sys.path.insert(0, str(FLASK_APP))

from app.app_role import ensure_app_role  # noqa: E402
from app.migrate import DEFAULT_DIR, discover, migrate  # noqa: E402

_spec = importlib.util.spec_from_file_location("flask_app_pgcluster", FLASK_APP / "tests" / "pgcluster.py")
assert _spec and _spec.loader
pgcluster = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = pgcluster  # dataclasses look their module up there
_spec.loader.exec_module(pgcluster)

MASTER, MASTER_PASSWORD = "master", "master-password-never-printed-7f3a"
APP_ROLE, APP_PASSWORD = "flask_app", "app-role-password-never-printed-91c2"


def _pg_bin(variable: str, default: Path) -> Path:
    return Path(os.environ[variable]) if os.environ.get(variable) else default


def _target_bin() -> Path:
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _version(pg_bin: Path) -> str:
    return subprocess.run([pg_bin / "postgres", "--version"], capture_output=True, text=True).stdout.split()[2]


@dataclass
class Server:
    cluster: object
    pg_bin: Path

    @property
    def port(self) -> int:
        return self.cluster.port  # type: ignore[attr-defined]

    def connect(
        self, dbname: str = "postgres", user: str = "postgres", password: str | None = None
    ) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            dbname=dbname,
            user=user,
            password=password or self.cluster.password,  # type: ignore[attr-defined]
            autocommit=True,
        )


def _start(pg_bin: Path) -> Server:
    cluster = pgcluster.PgCluster()
    cluster.pg_bin = pg_bin
    cluster.init().start()
    print(f"PostgreSQL {_version(pg_bin)} on 127.0.0.1:{cluster.port}", file=sys.stderr)
    return Server(cluster, pg_bin)


@pytest.fixture(scope="session")
def source() -> Iterator[Server]:
    """The old server: Debian's PostgreSQL (or SOURCE_PG_BIN)."""
    server = _start(_pg_bin("SOURCE_PG_BIN", pgcluster.find_pg_bin()))
    try:
        yield server
    finally:
        server.cluster.destroy()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def target() -> Iterator[Server]:
    """The new server: PostgreSQL 16 (or TARGET_PG_BIN), with Aurora's roles emulated."""
    server = _start(_pg_bin("TARGET_PG_BIN", _target_bin()))
    with server.connect() as conn:
        # Aurora's master user is no superuser; it may create roles and databases.
        conn.execute(f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'")
        conn.execute("CREATE ROLE rds_iam NOLOGIN")  # Aurora's predefined role for IAM auth
    try:
        yield server
    finally:
        server.cluster.destroy()  # type: ignore[attr-defined]


@pytest.fixture
def source_db(source: Server) -> Iterator[str]:
    """A database on the source, migrated by the app as an old deployment was: tables in public."""
    name = f"src_{uuid.uuid4().hex[:10]}"
    with source.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with source.connect(name) as conn:
        migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
    try:
        yield name
    finally:
        with source.connect() as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def target_db(target: Server) -> Iterator[str]:
    """A freshly deployed platform's database: the app's role and schema, migrated, no rows."""
    name = f"tgt_{uuid.uuid4().hex[:10]}"
    with target.connect() as conn:
        # Each test's deployment creates the role afresh: on PostgreSQL 16 only a superuser may
        # run the admin step's ALTER ROLE ... NOSUPERUSER on a role that exists already.
        conn.execute(f"DROP ROLE IF EXISTS {APP_ROLE}")
    with target.connect(user=MASTER, password=MASTER_PASSWORD) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with target.connect(name, MASTER, MASTER_PASSWORD) as conn:
        ensure_app_role(conn, APP_ROLE, APP_PASSWORD, "app")
    with target.connect(name, APP_ROLE, APP_PASSWORD) as conn:
        migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
    try:
        yield name
    finally:
        with target.connect() as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@dataclass
class Result:
    status: int
    output: str


@dataclass
class Importer:
    """Runs import.py as the task does, against the target database."""

    target: Server
    dbname: str
    work: Path

    def env(self, dump: Path, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ["PATH"],
            "PG_BIN": str(self.target.pg_bin),
            "IMPORT_DUMP_URI": dump.as_uri(),
            "IMPORT_WORK_DIR": str(self.work),
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.target.port),
            "DB_NAME": self.dbname,
            "DB_SSLMODE": "disable",
            "DB_ADMIN_USER": MASTER,
            "DB_ADMIN_PASSWORD": MASTER_PASSWORD,
            "DB_USER": APP_ROLE,
            "DB_SCHEMA": "app",
            "AWS_REGION": "ap-southeast-1",
        }
        env.update(extra)
        return env

    def run(self, dump: Path, timeout: float = 300, **extra: str) -> Result:
        proc = subprocess.run(
            [sys.executable, str(IMPORTER)],
            env=self.env(dump, **extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = proc.stdout + proc.stderr
        print(output)
        # Never a credential, whatever happened.
        assert MASTER_PASSWORD not in output
        assert APP_PASSWORD not in output
        return Result(proc.returncode, output)


@pytest.fixture
def importer(target: Server, target_db: str, tmp_path: Path) -> Importer:
    work = tmp_path / "work"
    work.mkdir()
    return Importer(target, target_db, work)


def make_dump(source: Server, dbname: str, path: Path, with_hash: bool = True) -> Path:
    """pg_dump -Fc and its manifest, made by make-manifest.py with the source's own tools."""
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(source.port), "PGUSER": "postgres"}
    env["PGPASSWORD"] = source.cluster.password  # type: ignore[attr-defined]
    subprocess.run(
        [sys.executable, str(MAKE_MANIFEST), "--pg-bin", str(source.pg_bin), "--dump", str(path), "-d", dbname],
        env=env,
        check=True,
    )
    if not with_hash:
        manifest = json.loads(Path(f"{path}.manifest.json").read_text())
        manifest["dump"] = None
        Path(f"{path}.manifest.json").write_text(json.dumps(manifest))
    return path


def table_snapshot(target: Server, dbname: str) -> dict[str, object]:
    """Every user table of a database with its rows (sorted), its owner, and the large objects."""
    snapshot: dict[str, object] = {}
    with target.connect(dbname) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " ORDER BY 1, 2"
        ).fetchall()
        for schema, table, owner in tables:
            query = sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(sql.Identifier(schema), sql.Identifier(table))
            rows = conn.execute(query).fetchall()
            snapshot[f"{schema}.{table}"] = (owner, [tuple(str(v) for v in r) for r in rows])
        snapshot["large objects"] = conn.execute(
            "SELECT oid::bigint FROM pg_largeobject_metadata ORDER BY 1"
        ).fetchall()
    return snapshot
