"""Import a ``pg_dump -Fc`` dump into the platform's database, all or nothing: ``python3 import.py``.

The one-off import task runs this program. In order:

1. **Settings** are read and checked (see ENVIRONMENT below); a bad one stops it at once (exit 2).
2. **Wake the database**: log in and ``SELECT 1``, retried from 0.25 s doubling to 2 s until
   IMPORT_WAKE_DEADLINE_SECONDS (default 300). A paused Aurora Serverless v2 resumes when a
   client logs in (about 15 s). Exit 124 if it never answers.
3. **Check the target** before downloading anything: the app's role (DB_USER) exists and the
   administrator may hand objects to it, and the database holds no user data (any row in any
   table outside the system schemas, other than the migration table, or any large object).
   With data present it refuses (exit 3) unless IMPORT_REPLACE=1.
4. **Download** the manifest and the dump (``s3://`` with boto3, ``file://`` from the local
   filesystem) into IMPORT_WORK_DIR (default /tmp), after checking the free space there. When
   the manifest records the dump's SHA-256 (make-manifest.py --dump does), the download must
   match it.
5. **Restore in one transaction**: ``pg_restore --single-transaction --no-owner
   --no-privileges -f -`` turns the dump into SQL, which this program streams into one ``psql``
   session between its own ``BEGIN`` and ``COMMIT`` (pg_restore's final COMMIT is cut off; see
   relay()). Inside that transaction, before and after the dump's own statements: the app's
   empty (or, with IMPORT_REPLACE=1, existing) objects are dropped; the dump's tables, views,
   sequences, functions, types and relocatable extensions in ``public`` move into the app's
   schema DB_SCHEMA (unless the dump has that schema already, as a dump of this platform's
   database does); every restored object and large object is handed to DB_USER; the row count
   of every table is compared with the manifest. ``COMMIT`` is sent
   only after pg_restore exited 0 and every count matched: any failure (a corrupted dump, a
   statement error, a count that differs, a lost connection) rolls everything back, and the
   target is exactly as it was.
6. **ANALYZE** the restored tables (pg_restore does not), and print a summary with throughput.

Exit status: 0 imported and verified; 1 the restore or the verification failed (nothing
changed); 2 bad settings or inputs (nothing changed); 3 refused: the target holds data and
IMPORT_REPLACE is not 1 (nothing changed); 124 the database never answered.

Nothing printed contains row data or a credential: the password reaches psql in its
environment (PGPASSWORD), never its arguments; psql's error context lines (which quote COPY
input) are not shown, and values quoted at the end of an error message are masked.

ENVIRONMENT
  IMPORT_DUMP_URI       s3://bucket/key or file:///path of a pg_dump -Fc (custom format) dump
  IMPORT_MANIFEST_URI   its manifest (make-manifest.py); default: IMPORT_DUMP_URI + .manifest.json
  IMPORT_REPLACE        1 = replace the data the target holds; default: refuse
  IMPORT_JOBS           1 (the only value: a parallel pg_restore uses several sessions, so it
                        cannot be one transaction, and a failed import could leave half a database)
  IMPORT_MIGRATIONS_TABLE  the app's migration bookkeeping table the dump must contain, so the
                        app does not run its migrations again on an imported schema (default
                        schema_migrations, the reference app's; alembic_version for
                        Flask-Migrate); "-" skips the check
  IMPORT_WORK_DIR       where the dump is downloaded (default /tmp)
  IMPORT_WAKE_DEADLINE_SECONDS  how long to wait for the database (default 300)
  DB_HOST, DB_PORT (5432), DB_NAME, DB_SSLMODE (prefer), DB_SSLROOTCERT
  DB_ADMIN_USER, DB_ADMIN_PASSWORD   the master credentials (the import creates and hands over)
  DB_USER (flask_app), DB_SCHEMA (app)  the app's role and schema, made by the app's admin step
  AWS_REGION            for s3:// URIs
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_GAVE_UP = 1, 2, 3, 124
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# The reference app's migration lock (app/migrate.py): an app task that boots during the import
# waits instead of creating its tables next to the ones being restored.
MIGRATION_LOCK_KEY = 0x666C61736B
SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"
# Space kept free beyond the dump itself, for pg_restore's and psql's own files.
SPACE_MARGIN_BYTES = 64 * 1024 * 1024
MANIFEST_FORMAT = "cdk-flask-serverless/data-import-manifest/1"
PROGRESS_SECONDS = 30.0


class StopImportError(Exception):
    """A failure with the exit status it means and a message for the log."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def say(message: str) -> None:
    """One line of the task's log, unbuffered."""
    print(f"import: {message}", flush=True)


def fail(status: int, message: str) -> StopImportError:
    return StopImportError(status, message)


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Settings:
    dump_uri: str
    manifest_uri: str
    replace: bool
    migrations_table: str | None
    work_dir: Path
    wake_deadline: int
    host: str
    port: int
    dbname: str
    sslmode: str
    sslrootcert: str | None
    admin_user: str
    admin_password: str
    app_user: str
    app_schema: str

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise fail(EXIT_BAD_INPUT, f"{name} is not set")
            return value

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip() or str(default)
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise fail(EXIT_BAD_INPUT, f"{name} must be a whole number from {low} to {high}, got {raw!r}")
            return int(raw)

        def identifier(name: str, default: str) -> str:
            value = env.get(name, "").strip() or default
            if not IDENTIFIER.fullmatch(value):
                raise fail(EXIT_BAD_INPUT, f"{name} {value!r}: use lowercase letters, digits and _ (max 63)")
            return value

        dump_uri = required("IMPORT_DUMP_URI")
        jobs = env.get("IMPORT_JOBS", "").strip() or "1"
        if jobs != "1":
            raise fail(
                EXIT_BAD_INPUT,
                f"IMPORT_JOBS={jobs}: only 1 is supported. A parallel pg_restore works in several sessions, "
                "so it cannot restore in one transaction, and a failure would leave a half-restored database",
            )
        replace = env.get("IMPORT_REPLACE", "").strip() or "0"
        if replace not in ("0", "1"):
            raise fail(EXIT_BAD_INPUT, f"IMPORT_REPLACE must be 1 (replace existing data) or 0, got {replace!r}")
        migrations = env.get("IMPORT_MIGRATIONS_TABLE", "").strip() or "schema_migrations"
        if migrations != "-" and not IDENTIFIER.fullmatch(migrations):
            raise fail(EXIT_BAD_INPUT, f"IMPORT_MIGRATIONS_TABLE {migrations!r}: a table name, or - to skip the check")
        settings = cls(
            dump_uri=dump_uri,
            manifest_uri=env.get("IMPORT_MANIFEST_URI", "").strip() or dump_uri + ".manifest.json",
            replace=replace == "1",
            migrations_table=None if migrations == "-" else migrations,
            work_dir=Path(env.get("IMPORT_WORK_DIR", "").strip() or tempfile.gettempdir()),
            wake_deadline=number("IMPORT_WAKE_DEADLINE_SECONDS", 300, 1, 3600),
            host=required("DB_HOST"),
            port=number("DB_PORT", 5432, 1, 65535),
            dbname=required("DB_NAME"),
            sslmode=env.get("DB_SSLMODE", "").strip() or "prefer",
            sslrootcert=env.get("DB_SSLROOTCERT", "").strip() or None,
            admin_user=required("DB_ADMIN_USER"),
            admin_password=required("DB_ADMIN_PASSWORD"),
            app_user=identifier("DB_USER", "flask_app"),
            app_schema=identifier("DB_SCHEMA", "app"),
        )
        for uri in (settings.dump_uri, settings.manifest_uri):
            store_for(uri)  # an unsupported scheme fails here, before anything else
        if settings.app_user == settings.admin_user:
            raise fail(
                EXIT_BAD_INPUT, f"DB_USER {settings.app_user!r} is the administrator; the app has a role of its own"
            )
        return settings

    def bookkeeping(self) -> set[str]:
        """Migration bookkeeping tables: rows there are no user data (a freshly deployed app has
        recorded its migrations in schema_migrations before anything is imported)."""
        return {"schema_migrations", *([self.migrations_table] if self.migrations_table else [])}

    def libpq_env(self) -> dict[str, str]:
        """The connection for psql, as libpq environment variables: nothing secret in argv."""
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": self.dbname,
            "PGUSER": self.admin_user,
            "PGPASSWORD": self.admin_password,
            "PGSSLMODE": self.sslmode,
            "PGAPPNAME": "data-import",
            "PGCONNECT_TIMEOUT": "20",
        }
        if self.sslrootcert:
            env["PGSSLROOTCERT"] = self.sslrootcert
        return env

    def conninfo(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.admin_user,
            "password": self.admin_password,
            "sslmode": self.sslmode,
            "application_name": "data-import",
        }
        if self.sslrootcert:
            kwargs["sslrootcert"] = self.sslrootcert
        return kwargs


# ---------------------------------------------------------------------------------------------
# Where dumps come from: one small interface, S3 in AWS, the filesystem in tests.


class Store:
    def size(self, uri: str) -> int:
        raise NotImplementedError

    def download(self, uri: str, path: Path) -> None:
        raise NotImplementedError

    def read_text(self, uri: str, limit: int) -> str:
        raise NotImplementedError


class FileStore(Store):
    """file:///absolute/path: stands in for S3 in the tests."""

    @staticmethod
    def _path(uri: str) -> Path:
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise fail(EXIT_BAD_INPUT, f"{uri}: a file URI is file:///absolute/path")
        return Path(unquote(parsed.path))

    def size(self, uri: str) -> int:
        try:
            return self._path(uri).stat().st_size
        except OSError as exc:
            raise fail(EXIT_BAD_INPUT, f"{uri}: {exc.strerror}") from exc

    def download(self, uri: str, path: Path) -> None:
        with self._path(uri).open("rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 1024 * 1024)

    def read_text(self, uri: str, limit: int) -> str:
        try:
            with self._path(uri).open("rb") as src:
                return src.read(limit + 1).decode("utf-8")
        except OSError as exc:
            raise fail(EXIT_BAD_INPUT, f"{uri}: {exc.strerror}") from exc


class S3Store(Store):
    """s3://bucket/key, with the task role's credentials (boto3's default chain)."""

    def __init__(self) -> None:
        self._client: Any = None

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        parsed = urlparse(uri)
        if not parsed.netloc or not parsed.path.strip("/"):
            raise fail(EXIT_BAD_INPUT, f"{uri}: an S3 URI is s3://bucket/key")
        return parsed.netloc, parsed.path.lstrip("/")

    def _s3(self) -> Any:
        if self._client is None:
            import boto3  # only needed for s3:// URIs

            self._client = boto3.client("s3")
        return self._client

    def _call(self, uri: str, action: str, fn: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise fail(
                EXIT_BAD_INPUT, f"{uri}: {action} failed: {error.get('Code')} {error.get('Message', '')}".rstrip()
            ) from exc
        except BotoCoreError as exc:
            raise fail(EXIT_BAD_INPUT, f"{uri}: {action} failed: {exc}") from exc

    def size(self, uri: str) -> int:
        bucket, key = self._split(uri)
        head = self._call(uri, "HeadObject", lambda: self._s3().head_object(Bucket=bucket, Key=key))
        return int(head["ContentLength"])

    def download(self, uri: str, path: Path) -> None:
        bucket, key = self._split(uri)
        self._call(uri, "download", lambda: self._s3().download_file(bucket, key, str(path)))

    def read_text(self, uri: str, limit: int) -> str:
        bucket, key = self._split(uri)
        body = self._call(uri, "GetObject", lambda: self._s3().get_object(Bucket=bucket, Key=key)["Body"])
        return body.read(limit + 1).decode("utf-8")


def store_for(uri: str) -> Store:
    scheme = urlparse(uri).scheme
    if scheme == "s3":
        return S3Store()
    if scheme == "file":
        return FileStore()
    raise fail(EXIT_BAD_INPUT, f"{uri}: use an s3://bucket/key URI")


# ---------------------------------------------------------------------------------------------
# The manifest: row counts per table of the source, made by make-manifest.py.


@dataclass(frozen=True)
class Manifest:
    tables: dict[tuple[str, str], int]
    dump_sha256: str | None
    source_version: str

    @classmethod
    def parse(cls, text: str, uri: str) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format is not {MANIFEST_FORMAT}")
            tables: dict[tuple[str, str], int] = {}
            for entry in data["tables"]:
                rows = entry["rows"]
                if not isinstance(rows, int) or rows < 0:
                    raise ValueError(f"rows of {entry['schema']}.{entry['table']} is not a count")
                tables[(str(entry["schema"]), str(entry["table"]))] = rows
            sha = (data.get("dump") or {}).get("sha256")
            return cls(tables, str(sha) if sha else None, str(data.get("source", {}).get("server_version", "?")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise fail(EXIT_BAD_INPUT, f"{uri} is not a manifest made by make-manifest.py ({exc})") from exc


# ---------------------------------------------------------------------------------------------
# The database


def wake(settings: Settings) -> Any:
    """Log in until SELECT 1 works (a paused Aurora resumes on login); the open connection."""
    import psycopg

    started = time.monotonic()
    delay, attempt = 0.25, 0
    say(f"waiting up to {settings.wake_deadline} s for PostgreSQL at {settings.host}:{settings.port}")
    while True:
        attempt += 1
        left = started + settings.wake_deadline - time.monotonic()
        try:
            conn = psycopg.connect(
                **settings.conninfo(), connect_timeout=max(2, min(20, int(left) + 1)), autocommit=True
            )
            conn.execute("SELECT 1")
            say(f"database answered after {time.monotonic() - started:.1f} s (attempt {attempt})")
            return conn
        except psycopg.OperationalError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = lines[0] if lines else type(exc).__name__
            if time.monotonic() - started >= settings.wake_deadline:
                raise fail(EXIT_GAVE_UP, f"gave up after {time.monotonic() - started:.1f} s: {reason}") from exc
            say(f"attempt {attempt} failed ({reason}); retrying in {delay:.2f} s")
            time.sleep(min(delay, max(0.0, started + settings.wake_deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)


def check_target(conn: Any, settings: Settings) -> None:
    """The app role is ready, and the target holds no data unless replacing is allowed."""
    row = conn.execute(
        "SELECT r.oid IS NOT NULL, r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER'),"
        " current_setting('server_version_num')::int"
        " FROM (SELECT 1) one LEFT JOIN pg_roles r ON r.rolname = %s",
        (settings.app_user,),
    ).fetchone()
    exists, member, version = row
    if not exists:
        raise fail(
            EXIT_BAD_INPUT,
            f"the app's role {settings.app_user} does not exist in {settings.dbname}: deploy the app first "
            "(its admin step, python -m app.app_role, creates the role and its schema)",
        )
    if not member:
        raise fail(
            EXIT_BAD_INPUT,
            f"{settings.admin_user} is not a member of {settings.app_user}, so it cannot hand the restored "
            f"objects over: run the app's admin step again, or GRANT {settings.app_user} TO {settings.admin_user}",
        )
    if version < 160000:
        say(f"note: the target runs PostgreSQL {version // 10000}; the platform's Aurora is 16")
    holding = tables_with_rows(conn, settings.bookkeeping())
    objects = conn.execute("SELECT count(*) FROM pg_catalog.pg_largeobject_metadata").fetchone()[0]
    if objects:
        holding.append(f"{objects} large object(s)")
    if holding and not settings.replace:
        shown = ", ".join(holding[:10]) + (f" and {len(holding) - 10} more" if len(holding) > 10 else "")
        raise fail(
            EXIT_REFUSED,
            f"refusing to import: {settings.dbname} already holds data ({shown}). "
            "Set IMPORT_REPLACE=1 to replace it (the import drops it in the same transaction that restores the dump)",
        )
    if holding:
        say(f"IMPORT_REPLACE=1: the data in {', '.join(holding)} will be replaced")


def tables_with_rows(conn: Any, bookkeeping: set[str]) -> list[str]:
    """Tables outside the system schemas holding at least one row (migration bookkeeping aside)."""
    from psycopg import sql

    names = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind = 'r' AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg\\_temp\\_%%'"
        " AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass"
        "  AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY 1, 2"
    ).fetchall()
    holding = []
    for schema, table in names:
        if table in bookkeeping:
            continue
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM ONLY {}.{})").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        if conn.execute(query).fetchone()[0]:
            holding.append(f"{schema}.{table}")
    return holding


# ---------------------------------------------------------------------------------------------
# The dump's table of contents


@dataclass
class Contents:
    schemas: set[str] = field(default_factory=set)
    tables: set[tuple[str, str]] = field(default_factory=set)
    extensions: set[str] = field(default_factory=set)
    large_objects: int = 0
    dumped_by: str = "?"
    dumped_from: str = "?"
    skipped: list[str] = field(default_factory=list)
    list_text: str = ""


TOC_LINE = re.compile(r"^(\d+); (\d+) (\d+) (.+)$")


def read_contents(pg_restore: str, dump: Path) -> Contents:
    """``pg_restore -l``: what the dump holds; also the list of entries to restore (-L)."""
    result = subprocess.run([pg_restore, "-l", str(dump)], capture_output=True, text=True)
    if result.returncode != 0:
        if "unsupported version" in result.stderr:
            raise fail(
                EXIT_BAD_INPUT,
                f"{result.stderr.strip()}: the dump was made by a pg_dump newer than this image's pg_restore "
                f"{tool_major(pg_restore)}; make it with pg_dump {tool_major(pg_restore)} (it dumps servers from "
                "PostgreSQL 9.2 on)",
            )
        raise fail(EXIT_FAILED, f"pg_restore cannot read the dump: {result.stderr.strip()}")
    contents = Contents()
    kept: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith(";"):
            if "Dumped by pg_dump version:" in line:
                contents.dumped_by = line.split(":", 1)[1].strip()
            elif "Dumped from database version:" in line:
                contents.dumped_from = line.split(":", 1)[1].strip()
            kept.append(line)
            continue
        match = TOC_LINE.match(line)
        if not match:
            kept.append(line)
            continue
        words = match.group(4).split(" ")
        # "TYPE SCHEMA NAME OWNER"; the type can be two words (TABLE DATA, FK CONSTRAINT, ...).
        desc = " ".join(words[:2]) if " ".join(words[:2]) in TWO_WORD_TYPES else words[0]
        rest = match.group(4)[len(desc) + 1 :].split(" ")
        # A name may hold spaces; the owner, last, does not (pg_dump's role names rarely do).
        if desc == "SCHEMA" and len(rest) >= 3:
            contents.schemas.add(" ".join(rest[1:-1]))
        elif desc == "TABLE" and len(rest) >= 3:
            contents.tables.add((rest[0], " ".join(rest[1:-1])))
        elif desc == "BLOB":
            contents.large_objects += 1
        elif desc == "EXTENSION" and len(rest) >= 2:
            contents.extensions.add(rest[1])
        # The public schema exists in every database and belongs to the database owner: its
        # comment and a CREATE SCHEMA public (dumps of some versions) are left out; so are
        # comments on extensions, which only an extension's owner may set (an extension that
        # exists already may belong to another role).
        comment_on = " ".join(rest[1:3]) if desc == "COMMENT" else ""
        if (
            (desc == "SCHEMA" and rest[1:2] == ["public"])
            or comment_on == "SCHEMA public"
            or rest[1:2] == ["EXTENSION"]
        ):
            contents.skipped.append(match.group(4))
            kept.append(";" + line)
            continue
        kept.append(line)
    contents.schemas.discard("public")
    contents.list_text = "\n".join(kept) + "\n"
    return contents


TWO_WORD_TYPES = {
    "TABLE DATA",
    "FK CONSTRAINT",
    "SEQUENCE SET",
    "SEQUENCE OWNED",
    "MATERIALIZED VIEW",
    "FOREIGN TABLE",
    "DEFAULT ACL",
    "TEXT SEARCH",
    "EVENT TRIGGER",
    "FOREIGN DATA",
    "USER MAPPING",
    "ACCESS METHOD",
    "LARGE OBJECT",
    "ROW SECURITY",
    "PUBLICATION TABLE",
    "TABLE ATTACH",
    "INDEX ATTACH",
    "BLOB METADATA",
    "BLOB DATA",
}


def major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------------------------------------
# The SQL around the dump's own statements


def q(name: str) -> str:
    """A quoted identifier (names come from the dump's catalog and the settings)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Objects of a schema that are not part of an extension, as (kind, qualified name) for DDL.
OBJECTS_OF = """
SELECT kind, name FROM (
  SELECT 1 AS step, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
         WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
         format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
     -- not an extension's; a sequence owned by a column goes wherever its table goes
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
                     AND d.objid = c.oid AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
  UNION ALL
  SELECT 2, CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END,
         format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = {schema} AND p.prokind IN ('f', 'p', 'a')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                     AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 3, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', n.nspname, t.typname)
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = {schema} AND t.typtype IN ('e', 'd', 'c', 'r', 'm')
     AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_type'::regclass
                     AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
) objects ORDER BY step, name
"""


def before_restore(settings: Settings, contents: Contents) -> str:
    """Inside the transaction, before the dump: lock, re-check, clear the way."""
    replace = "true" if settings.replace else "false"
    bookkeeping = ", ".join(lit(name) for name in sorted(settings.bookkeeping()))
    drop_schemas = sorted(({settings.app_schema} | contents.schemas) - {"public"})
    lines = [
        "SET client_min_messages = warning;",
        # Waiting for the app's locks ends with a clear error rather than hanging.
        "SET lock_timeout = '60s';",
        f"SELECT pg_catalog.pg_advisory_xact_lock({MIGRATION_LOCK_KEY});",
        # The same check as before the download, now under the transaction's locks: rows written
        # since then are not dropped without IMPORT_REPLACE=1.
        f"""DO $check$
DECLARE
  t record;
  found boolean;
BEGIN
  IF NOT {replace} THEN
    FOR t IN SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg\\_%'
                AND c.relname NOT IN ({bookkeeping})
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                 WHERE d.classid = 'pg_catalog.pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %I.%I)', t.nspname, t.relname) INTO found;
      IF found THEN
        RAISE EXCEPTION 'import: %.% holds rows now (written since the first check); '
                        'set IMPORT_REPLACE=1 to replace them',
          t.nspname, t.relname;
      END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata) THEN
      RAISE EXCEPTION 'import: the database holds large objects now; set IMPORT_REPLACE=1 to replace them';
    END IF;
  END IF;
END
$check$;""",
    ]
    for schema in drop_schemas:
        lines.append(f"DROP SCHEMA IF EXISTS {q(schema)} CASCADE;")
    # public itself stays (it belongs to the database owner); what is in it goes.
    lines.append(
        f"""DO $clear$
DECLARE
  o record;
BEGIN
  FOR o IN {OBJECTS_OF.format(schema="'public'")} LOOP
    BEGIN
      EXECUTE format('DROP %s IF EXISTS %s CASCADE', o.kind, o.name);
    EXCEPTION WHEN undefined_object OR undefined_table OR undefined_function THEN
      NULL; -- dropped already, by the CASCADE of an earlier one
    END;
  END LOOP;
  PERFORM pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;
END
$clear$;"""
    )
    lines.append("RESET lock_timeout;")
    return "\n".join(lines) + "\n"


def after_restore(
    settings: Settings, contents: Contents, manifest: Manifest
) -> tuple[str, dict[tuple[str, str], tuple[str, str]]]:
    """Inside the transaction, after the dump: map public into the app's schema, hand every
    object to the app's role, compare the counts. Returns the SQL and where each table went."""
    schema, role = settings.app_schema, settings.app_user
    move_public = schema not in contents.schemas
    moved = {(s, t): ((schema if (s == "public" and move_public) else s), t) for (s, t) in contents.tables}
    owned = sorted({schema, *contents.schemas} | (set() if move_public else {"public"}))
    lines = [
        # Every name below is qualified (the dump's statements leave an empty search_path, and
        # so does this); the dump silenced notices, which report what happens next.
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "SET client_min_messages = notice;",
    ]
    extensions = ", ".join(lit(name) for name in sorted(contents.extensions)) or "NULL"
    if move_public:
        lines.append(f"CREATE SCHEMA {q(schema)} AUTHORIZATION {q(role)};")
        lines.append(
            f"""DO $move$
DECLARE
  o record;
  moved integer := 0;
BEGIN
  -- Each table takes its indexes, constraints and owned sequences along.
  FOR o IN {OBJECTS_OF.format(schema="'public'")} LOOP
    EXECUTE format('ALTER %s %s SET SCHEMA %I', o.kind, o.name, {lit(schema)});
    moved := moved + 1;
  END LOOP;
  -- The dump's relocatable extensions follow, so the app finds their operators and functions
  -- by its search path (its schema only).
  FOR o IN SELECT x.extname FROM pg_catalog.pg_extension x
             JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
            WHERE n.nspname = 'public' AND x.extname = ANY (ARRAY[{extensions}]::text[]) LOOP
    IF (SELECT x.extrelocatable AND pg_catalog.pg_has_role(x.extowner, 'USAGE')
          FROM pg_catalog.pg_extension x WHERE x.extname = o.extname) THEN
      EXECUTE format('ALTER EXTENSION %I SET SCHEMA %I', o.extname, {lit(schema)});
      moved := moved + 1;
    ELSE
      RAISE NOTICE 'import: note: extension % stays in public (not relocatable, or another role''s): '
                   'the app reaches its objects as public.name', o.extname;
    END IF;
  END LOOP;
  RAISE NOTICE 'import: moved % objects from public into %', moved, {lit(schema)};
END
$move$;"""
        )
    for name in owned:
        if name != "public":
            lines.append(f"ALTER SCHEMA {q(name)} OWNER TO {q(role)};")
        lines.append(
            f"""DO $own$
DECLARE
  o record;
BEGIN
  FOR o IN {OBJECTS_OF.format(schema=lit(name))} LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', o.kind, o.name, {lit(role)});
  END LOOP;
END
$own$;"""
        )
    lines.append(
        f"""DO $lo$
DECLARE
  o oid;
BEGIN
  FOR o IN SELECT oid FROM pg_catalog.pg_largeobject_metadata LOOP
    EXECUTE format('ALTER LARGE OBJECT %s OWNER TO %I', o, {lit(role)});
  END LOOP;
END
$lo$;"""
    )
    if settings.migrations_table:
        mt = settings.migrations_table
        lines.append(
            f"""DO $migrations$
BEGIN
  IF pg_catalog.to_regclass({lit(f"{q(schema)}.{q(mt)}")}) IS NULL THEN
    RAISE EXCEPTION 'import: the restored schema has no {schema}.{mt}';
  END IF;
END
$migrations$;"""
        )
    lines.append(verification(manifest, moved, owned))
    return "\n".join(lines) + "\n", moved


def verification(manifest: Manifest, moved: dict[tuple[str, str], tuple[str, str]], owned: list[str]) -> str:
    """A DO block that counts every table and raises, naming each difference, unless all match."""
    checks = []
    expected_targets = []
    for (schema, table), rows in sorted(manifest.tables.items()):
        target_schema, target_table = moved.get((schema, table), (schema, table))
        expected_targets.append(f"({lit(target_schema)}, {lit(target_table)})")
        name = f"{target_schema}.{target_table}"
        source = f"{schema}.{table}"
        checks.append(
            f"""  IF pg_catalog.to_regclass({lit(f"{q(target_schema)}.{q(target_table)}")}) IS NULL THEN
    bad := bad || {lit(f"{source}: not restored; ")};
  ELSE
    EXECUTE {lit(f"SELECT count(*) FROM ONLY {q(target_schema)}.{q(target_table)}")} INTO n;
    total := total + n;
    IF n <> {rows} THEN
      bad := bad || format('{name.replace("%", "%%").replace("'", "''")}: %s rows, the manifest says {rows}; ', n);
    END IF;
  END IF;"""
        )
    expected = ", ".join(expected_targets) or "(NULL::text, NULL::text)"
    return f"""DO $verify$
DECLARE
  bad text := '';
  n bigint;
  total bigint := 0;
  extra text;
BEGIN
{chr(10).join(checks)}
  SELECT string_agg(format('%I.%I', nspname, relname), ', ' ORDER BY 1) INTO extra
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND ns.nspname = ANY (ARRAY[{", ".join(lit(s) for s in owned)}]::text[])
     AND (ns.nspname::text, c.relname::text) NOT IN (VALUES {expected})
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'e');
  IF extra IS NOT NULL THEN
    bad := bad || format('not in the manifest: %s; ', extra);
  END IF;
  IF bad <> '' THEN
    RAISE EXCEPTION 'import: row counts differ from the manifest: %', rtrim(bad, '; ');
  END IF;
  RAISE NOTICE 'import: verified % tables, % rows, all as in the manifest', {len(checks)}, total;
END
$verify$;
"""


# ---------------------------------------------------------------------------------------------
# The restore


VALUE_AT_END = re.compile(r'(: )"(.*)"\s*$')


def clean_error_line(line: str) -> str | None:
    """psql's stderr without row data: no DETAIL, CONTEXT or LINE lines (they quote COPY input,
    key values and statements), and a value quoted at the end of a message masked."""
    stripped = line.strip()
    if not stripped or stripped.startswith(("DETAIL:", "CONTEXT:", "LINE ", "QUERY:", "^")):
        return None
    if stripped.endswith("WARNING:  there is already a transaction in progress"):
        return None  # pg_restore's BEGIN inside ours: expected
    if "ERROR:" in stripped or "FATAL:" in stripped:
        return VALUE_AT_END.sub(r'\1"(value not shown)"', stripped)
    return stripped


TAIL_BYTES = 64 * 1024
FINAL_COMMIT = b"\nCOMMIT;\n"


def relay(source: Any, sink: Any, counter: list[int]) -> bool:
    """Copy pg_restore's SQL into psql's stdin, all but its final COMMIT; counter[0] counts bytes.
    False if the script did not end with that COMMIT (then the rest was not sent).

    pg_restore --single-transaction wraps its script in BEGIN ... COMMIT (and so leaves out the
    transaction it otherwise puts around large objects, whose COMMIT would end ours half-way).
    Its COMMIT is the script's last statement, after every COPY's end marker: the last 64 KiB
    are held back and it is cut from them, so the verification can run before our COMMIT."""
    src, dst = source.fileno(), sink.fileno()
    held = b""
    while chunk := os.read(src, 1 << 20):
        counter[0] += len(chunk)
        held += chunk
        if len(held) > TAIL_BYTES:
            _write_all(dst, held[:-TAIL_BYTES])
            held = held[-TAIL_BYTES:]
    at = held.rfind(FINAL_COMMIT)
    after = held[at + len(FINAL_COMMIT) :] if at >= 0 else b""
    if at < 0 or any(line.strip() and not line.startswith((b"--", b"\\unrestrict")) for line in after.splitlines()):
        return False
    _write_all(dst, held[: at + 1] + after)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def restore(
    settings: Settings, dump: Path, contents: Contents, manifest: Manifest
) -> dict[tuple[str, str], tuple[str, str]]:
    """pg_restore | psql in one transaction; COMMIT only if pg_restore succeeded and counts match."""
    pg_restore, psql = tool("pg_restore"), tool("psql")
    work = Path(tempfile.mkdtemp(prefix="import-", dir=settings.work_dir))
    try:
        toc = work / "restore.list"
        toc.write_text(contents.list_text)
        post, moved = after_restore(settings, contents, manifest)
        env = {**os.environ, **settings.libpq_env()}
        for name in ("DB_ADMIN_PASSWORD", "DB_PASSWORD"):
            env.pop(name, None)
        psql_proc = subprocess.Popen(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=default", "-v", "SHOW_CONTEXT=never",
             "-o", os.devnull, "-f", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        errors: list[str] = []
        reader = threading.Thread(target=_collect, args=(psql_proc.stderr, errors), daemon=True)
        reader.start()
        assert psql_proc.stdin is not None
        restore_err = work / "pg_restore.err"
        counter = [0]
        status, complete = -1, False
        try:
            psql_proc.stdin.write(b"BEGIN;\n" + before_restore(settings, contents).encode())
            psql_proc.stdin.flush()
            with restore_err.open("wb") as err:
                pg = subprocess.Popen(
                    [pg_restore, "--single-transaction", "--no-owner", "--no-privileges", "--no-tablespaces",
                     "--no-security-labels", "--no-subscriptions", "--no-publications", "-L", str(toc),
                     "-f", "-", str(dump)],
                    stdout=subprocess.PIPE, stderr=err, env={k: v for k, v in env.items() if k != "PGPASSWORD"},
                )  # fmt: skip
                assert pg.stdout is not None
                progress = threading.Thread(target=_progress, args=(counter, pg), daemon=True)
                progress.start()
                try:
                    complete = relay(pg.stdout, psql_proc.stdin, counter)
                except BrokenPipeError:
                    pass  # psql stopped at an error: its message says why
                finally:
                    pg.stdout.close()
                status = pg.wait()
            if status == 0 and complete and psql_proc.poll() is None:
                # Only now, with the whole dump sent without an error, can COMMIT follow.
                psql_proc.stdin.write(post.encode() + b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error: its message says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                psql_proc.stdin.close()  # without COMMIT the server rolls the transaction back
        psql_status = psql_proc.wait()
        reader.join()
        restore_errors = [line for line in restore_err.read_text(errors="replace").splitlines() if line.strip()]
        # When psql stops at an error, pg_restore dies of the closed pipe: psql's error is the one.
        if status != 0 and not (psql_status != 0 and (status < 0 or _broken_pipe(restore_errors))):
            shown = "\n  ".join(restore_errors[-10:]) or f"exit status {status}"
            detail = "\n  ".join(errors[-10:])
            raise fail(
                EXIT_FAILED,
                f"pg_restore failed; rolled back, the target is unchanged:\n  {shown}"
                + (f"\npsql said:\n  {detail}" if detail else ""),
            )
        if psql_status == 0 and not complete:
            raise fail(
                EXIT_FAILED, "pg_restore's script did not end with its COMMIT; rolled back, the target is unchanged"
            )
        if psql_status != 0:
            detail = "\n  ".join(errors[-15:]) or f"exit status {psql_status}"
            raise fail(EXIT_FAILED, f"the restore failed; rolled back, the target is unchanged:\n  {detail}")
        for line in errors:
            say(line.split("NOTICE:", 1)[-1].strip().removeprefix("import: "))
        say(f"restored {counter[0] / 1e6:.1f} MB of SQL from the dump")
        return moved
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _broken_pipe(lines: list[str]) -> bool:
    return any("could not write" in line or "Broken pipe" in line for line in lines)


def _collect(stream: Any, errors: list[str]) -> None:
    for raw in stream:
        line = clean_error_line(raw.decode("utf-8", "replace"))
        if line:
            errors.append(line)


def _progress(counter: list[int], proc: subprocess.Popen[bytes]) -> None:
    started = time.monotonic()
    next_note = started + PROGRESS_SECONDS
    while proc.poll() is None:
        time.sleep(1.0)
        if time.monotonic() >= next_note:
            say(f"restoring: {counter[0] / 1e6:.0f} MB of SQL sent after {time.monotonic() - started:.0f} s")
            next_note += PROGRESS_SECONDS


def tool(name: str) -> str:
    """PG_BIN/<name> when set (the tests pick a major), else the one on PATH."""
    pg_bin = os.environ.get("PG_BIN")
    path = str(Path(pg_bin) / name) if pg_bin else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        raise fail(EXIT_BAD_INPUT, f"{name} not found: the image installs the PostgreSQL client tools")
    return path


def tool_major(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    return major(out.split(")", 1)[-1].strip())


# ---------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def download(settings: Settings) -> tuple[Path, Manifest, int]:
    manifest_store = store_for(settings.manifest_uri)
    manifest = Manifest.parse(manifest_store.read_text(settings.manifest_uri, 10 * 1024 * 1024), settings.manifest_uri)
    say(
        f"manifest: {len(manifest.tables)} tables, {sum(manifest.tables.values())} rows "
        f"(source PostgreSQL {manifest.source_version})"
    )
    store = store_for(settings.dump_uri)
    size = store.size(settings.dump_uri)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.work_dir).free
    if free < size + SPACE_MARGIN_BYTES:
        raise fail(
            EXIT_BAD_INPUT,
            f"{settings.work_dir} has {free / 1e6:.0f} MB free; the dump needs {size / 1e6:.0f} MB plus "
            f"{SPACE_MARGIN_BYTES // 1_000_000} MB: give the task more ephemeral storage",
        )
    fd, name = tempfile.mkstemp(prefix="dump-", suffix=".pgdump", dir=settings.work_dir)
    os.close(fd)
    path = Path(name)
    started = time.monotonic()
    try:
        store.download(settings.dump_uri, path)
    except BaseException:
        path.unlink(missing_ok=True)  # no partial dump left in the work dir
        raise
    seconds = max(time.monotonic() - started, 1e-6)
    say(f"downloaded the dump: {size / 1e6:.1f} MB in {seconds:.1f} s")
    if manifest.dump_sha256:
        actual = sha256_of(path)
        if actual != manifest.dump_sha256:
            path.unlink()
            raise fail(
                EXIT_BAD_INPUT,
                f"the dump's SHA-256 is {actual}, the manifest's {manifest.dump_sha256}: "
                "the dump is damaged or is not the one the manifest was made with; upload both again",
            )
        say("the dump's SHA-256 matches the manifest")
    return path, manifest, size


def run(env: dict[str, str]) -> int:
    started = time.monotonic()
    settings = Settings.from_env(env)
    pg_restore = tool("pg_restore")
    tool("psql")
    conn = wake(settings)
    with conn:
        check_target(conn, settings)
    dump, manifest, size = download(settings)
    try:
        contents = read_contents(pg_restore, dump)
        restorer = tool_major(pg_restore)
        say(
            f"dump made by pg_dump {contents.dumped_by} from PostgreSQL {contents.dumped_from}: "
            f"{len(contents.tables)} tables, {contents.large_objects} large objects; "
            f"restoring with pg_restore {restorer}"
        )
        if major(contents.dumped_from) and major(contents.dumped_from) < 11:
            raise fail(
                EXIT_BAD_INPUT, f"the source runs PostgreSQL {contents.dumped_from}; the import supports 11 and newer"
            )
        if major(contents.dumped_by) > restorer:
            raise fail(
                EXIT_BAD_INPUT,
                f"the dump was made by pg_dump {contents.dumped_by}, newer than this image's pg_restore "
                f"{restorer}: make the dump with pg_dump {restorer} (a pg_dump can dump older servers)",
            )
        unknown = sorted({f"{s}.{t}" for s, t in contents.tables} - {f"{s}.{t}" for s, t in manifest.tables})
        missing = sorted({f"{s}.{t}" for s, t in manifest.tables} - {f"{s}.{t}" for s, t in contents.tables})
        if unknown or missing:
            raise fail(
                EXIT_BAD_INPUT,
                "the dump and the manifest list different tables"
                + (f"; only in the dump: {', '.join(unknown)}" if unknown else "")
                + (f"; only in the manifest: {', '.join(missing)}" if missing else "")
                + ": make both from the same database (make-manifest.py --dump makes the dump too)",
            )
        if settings.migrations_table:
            schema = settings.app_schema if settings.app_schema in contents.schemas else "public"
            if (schema, settings.migrations_table) not in contents.tables:
                raise fail(
                    EXIT_BAD_INPUT,
                    f"the dump has no {schema}.{settings.migrations_table}: without it the app would run its "
                    "migrations again on the imported tables. Dump a database the app has migrated; set "
                    "IMPORT_MIGRATIONS_TABLE to the table your migration tool keeps (alembic_version for "
                    "Flask-Migrate), or to - if your migrations can run on the imported schema",
                )
        # A long download gives Aurora time to pause again (after 5 idle minutes): wake it first.
        wake(settings).close()
        restore_started = time.monotonic()
        moved = restore(settings, dump, contents, manifest)
        restore_seconds = max(time.monotonic() - restore_started, 1e-6)
    finally:
        dump.unlink(missing_ok=True)
    rows = sum(manifest.tables.values())
    analyzed = analyze(settings, sorted(set(moved.values())))
    say(
        f"imported and verified: {len(manifest.tables)} tables, {rows} rows, {size / 1e6:.1f} MB dump; "
        f"restore {restore_seconds:.1f} s ({rows / restore_seconds:,.0f} rows/s, "
        f"{size / 1e6 / restore_seconds:.1f} MB/s "
        f"of dump), ANALYZE {analyzed:.1f} s, {time.monotonic() - started:.1f} s in all"
    )
    return 0


def analyze(settings: Settings, tables: list[tuple[str, str]]) -> float:
    """Planner statistics for the new tables (a restore leaves none); a failure here is a note."""
    import psycopg
    from psycopg import sql

    started = time.monotonic()
    try:
        with psycopg.connect(**settings.conninfo(), autocommit=True, connect_timeout=20) as conn:
            for schema, table in tables:
                conn.execute(sql.SQL("ANALYZE {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
    except psycopg.Error as exc:
        say(f"note: ANALYZE failed ({type(exc).__name__}); the data is imported, run ANALYZE later")
    return time.monotonic() - started


def main() -> int:
    try:
        return run(dict(os.environ))
    except StopImportError as exc:
        say(f"failed: {exc}")
        return exc.status
    except Exception as exc:  # a fault of this program: its type and message, never the environment
        name = type(exc).__name__
        if name in ("OperationalError", "Error") or type(exc).__module__.startswith("psycopg"):
            say(f"failed: {name}: {str(exc).strip()}; the target is unchanged")
        else:
            say(f"failed: {name}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
