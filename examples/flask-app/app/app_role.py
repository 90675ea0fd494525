"""The app's own least-privilege database role: ``python -m app.app_role``.

The one administrative step, run with the master credentials before the app starts: it creates
(or updates) a LOGIN role that owns one schema and nothing else, so the app itself never holds
the master password. The app then connects as that role, runs its migrations (which create
their tables in its schema, owned by it) and serves.

- The role: no superuser, no CREATEDB, no CREATEROLE, no replication, no inherited rights; its
  ``search_path`` is its schema. ``PUBLIC`` loses CREATE on ``public`` and its default rights on
  the database; the role gets CONNECT.
- The password is sent as a SCRAM-SHA-256 verifier computed here, never in clear text, so a
  statement log (``log_statement = 'ddl'``) cannot leak it. Run again with a new password (a
  rotated secret) to change it.
- A database migrated before this step has its tables in ``public``, owned by the master user.
  The first run moves them into the role's schema and hands them over (``ALTER TABLE ... SET
  SCHEMA``: a catalog change, no copy, no data loss), once, when ``public.schema_migrations``
  exists and the role's schema has none.

Environment: ``DB_ADMIN_USER`` and ``DB_ADMIN_PASSWORD`` (the master secret) plus the usual
``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_SSLMODE``; ``DB_USER`` and ``DB_PASSWORD`` are the
role to create and its password; ``DB_SCHEMA`` its schema (default ``app``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sys

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Serializes concurrent first boots; differs from the migration lock.
LOCK_KEY = 0x726F6C65  # "role"
SCRAM_ITERATIONS = 4096


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 / 7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _checked(name: str, what: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{what} {name!r}: use lowercase letters, digits and _ (max 63), starting with a letter or _")
    return name


def ensure_app_role(conn: psycopg.Connection[TupleRow], role: str, password: str, schema: str = "app") -> list[str]:
    """Create or update ``role`` as owner of ``schema`` only; return what changed. ``conn`` is the
    administrator's, autocommit."""
    role, schema = _checked(role, "DB_USER"), _checked(schema, "DB_SCHEMA")
    if len(password) < 16:
        raise ValueError("DB_PASSWORD of the app role must be at least 16 characters")
    admin = conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
    if admin == role:
        raise ValueError(f"DB_USER {role!r} is the administrator; the app needs a role of its own")
    r, s = sql.Identifier(role), sql.Identifier(schema)
    db = sql.Identifier(conn.info.dbname)
    done: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        with conn.transaction():
            attributes = sql.SQL(
                "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT PASSWORD {}"
            ).format(sql.Literal(scram_verifier(password)))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("ALTER ROLE {} ").format(r) + attributes)
            else:
                conn.execute(sql.SQL("CREATE ROLE {} ").format(r) + attributes)
                done.append(f"created role {role}")
            # The administrator must be a member to hand objects over (not needed by a superuser;
            # needed on Aurora, where the master user is rds_superuser).
            conn.execute(sql.SQL("GRANT {} TO {}").format(r, sql.Identifier(admin)))
            if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
                conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(s, r))
                done.append(f"created schema {schema}")
            else:
                conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(s, r))
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(r, db, s))
            conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, r))
            done.extend(_adopt_earlier_tables(conn, role, schema))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


def _adopt_earlier_tables(conn: psycopg.Connection[TupleRow], role: str, schema: str) -> list[str]:
    """Moves the tables of a deployment migrated before the app had its role into its schema."""
    earlier = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()[0]  # type: ignore[index]
    already = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.schema_migrations",)).fetchone()[0]  # type: ignore[index]
    if not earlier or already:
        return []
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        ).fetchall()
    ]
    for name in tables:
        conn.execute(
            sql.SQL("ALTER TABLE public.{} SET SCHEMA {}").format(sql.Identifier(name), sql.Identifier(schema))
        )
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} OWNER TO {}").format(
                sql.Identifier(schema), sql.Identifier(name), sql.Identifier(role)
            )
        )
    return [f"moved {len(tables)} tables from public to {schema}: {', '.join(tables)}"]


def main() -> int:
    env = os.environ
    try:
        conninfo = psycopg.conninfo.make_conninfo(
            host=env["DB_HOST"],
            port=env.get("DB_PORT", "5432"),
            dbname=env["DB_NAME"],
            user=env["DB_ADMIN_USER"],
            password=env["DB_ADMIN_PASSWORD"],
            sslmode=env.get("DB_SSLMODE", "prefer"),
            connect_timeout=20,
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for line in ensure_app_role(conn, env["DB_USER"], env["DB_PASSWORD"], env.get("DB_SCHEMA", "app")):
                print(f"app_role: {line}", flush=True)
    except KeyError as missing:
        print(f"app_role: {missing.args[0]} is not set", file=sys.stderr)
        return 2
    except (ValueError, psycopg.Error) as error:
        # The message names what failed; it never contains a password (only verifiers are sent).
        print(f"app_role: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
