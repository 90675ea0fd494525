"""Apply ``migrations/NNNN_name.sql`` in order, each once: ``python -m app.migrate``.

Safe to run on every boot and from several tasks at once: a PostgreSQL advisory lock lets one
process migrate while the others wait, and ``schema_migrations`` records what was applied, so a
second run applies nothing. Each file runs in its own transaction with its bookkeeping row.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from .config import ConfigError, Settings
from .db import connect_with_retry

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "migrations"
FILE_RE = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# Any constant shared by every copy of the app; 0x666c61736b spells "flask".
LOCK_KEY = 0x666C61736B


class MigrationError(Exception):
    """The migrations on disk and in the database disagree, or the directory is malformed."""


@dataclass(frozen=True)
class Migration:
    """One versioned SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file, to notice a file edited after it was applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path) -> list[Migration]:
    """The migration files of ``directory`` in version order; stray .sql names are an error."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_RE.fullmatch(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lowercase_words.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(f"{path.name}: version {version} also used by {migrations[version].name}")
        migrations[version] = Migration(version, path.name, path.read_text(encoding="utf-8"))
    return [migrations[v] for v in sorted(migrations)]


def migrate(
    conn: psycopg.Connection[TupleRow],
    migrations: list[Migration],
    lock_timeout_seconds: int = 120,
    say: Callable[[str], None] = print,
) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied. ``conn`` is autocommit."""
    conn.execute(f"SET lock_timeout = '{int(lock_timeout_seconds)}s'")
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        # Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        recorded = {
            row[0]: (row[1], row[2])
            for row in conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
        }
        applied: list[str] = []
        for migration in migrations:
            if migration.version in recorded:
                name, checksum = recorded[migration.version]
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} changed after it was applied (as {name}); "
                        "add a new migration file instead of editing an applied one"
                    )
                continue
            with conn.transaction():
                conn.execute(migration.sql)  # type: ignore[arg-type]
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            say(f"migrate: applied {migration.name}")
            applied.append(migration.name)
        unknown = sorted(set(recorded) - {m.version for m in migrations})
        if unknown:
            say(f"migrate: note: the database has versions this image does not know: {unknown}")
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit status 0 when the schema is up to date."""
    parser = argparse.ArgumentParser(prog="python -m app.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("MIGRATIONS_DIR") or DEFAULT_DIR))
    parser.add_argument("--connect-seconds", type=float, default=60.0, help="keep trying to connect this long")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ, database_only=True)
        migrations = discover(args.dir)
        with connect_with_retry(
            settings,
            args.connect_seconds,
            autocommit=True,
            application_name=f"{settings.db_application_name}-migrate",
        ) as conn:
            applied = migrate(conn, migrations)
    except (ConfigError, MigrationError) as exc:
        print(f"migrate: failed: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(f"migrate: failed: {type(exc).__name__}: {str(exc).strip()}", file=sys.stderr)
        return 1
    if applied:
        print(f"migrate: done, {len(applied)} applied, {len(migrations)} in total")
    else:
        print(f"migrate: schema up to date ({len(migrations)} migrations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
