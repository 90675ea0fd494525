"""The app's own least-privilege database role: ``python -m app.app_role``.

The one administrative step, run with the master credentials before the app starts (on Fargate
as a non-essential init container of the same image, which alone gets the master secret; on
Lambda from the deploy-time function, see ``app.boot.deploy``). It creates (or updates) a LOGIN
role that owns one schema and nothing else, so the app itself never holds the master password.
The app then connects as that role, runs its migrations (which create their tables in its
schema, owned by it) and serves.

- The role: no superuser, no CREATEDB, no CREATEROLE, no replication, no inherited rights; its
  ``search_path`` is its schema. ``PUBLIC`` loses CREATE on ``public`` and its default rights on
  the database; the role gets CONNECT.
- With ``DB_IAM_AUTH=1`` the role has no password and is granted ``rds_iam`` (Aurora and RDS
  PostgreSQL's predefined role): it logs in only with an IAM auth token, which its IAM policy
  (``rds-db:connect``) lets the app sign. Otherwise its password is ``DB_PASSWORD``, sent as a
  SCRAM-SHA-256 verifier computed here, never in clear text, so a statement log
  (``log_statement = 'ddl'``) cannot leak it; ``rds_iam`` is revoked (on RDS a member of it can
  no longer log in with a password). Run again with a new password (a rotated secret) to
  change it.
- A database migrated before this step has its tables in ``public``, owned by the master user.
  The first run moves them into the role's schema and hands them over (``ALTER TABLE ... SET
  SCHEMA``: a catalog change, no copy, no data loss), once, when ``public.schema_migrations``
  exists and the role's schema has none. Tasks of the previous version still connect as the
  master user during a rolling deploy: before the move, the master user's ``search_path`` in
  this database becomes ``"$user", public, <schema>`` and its sessions named
  ``DB_APPLICATION_NAME`` are ended, so their pools reconnect with that path and keep finding
  the tables (the master user is a member of the role, so it keeps its rights on them). A
  request in flight on one of those sessions at that instant gets a 503 with ``Retry-After``.

It first waits for (and wakes) the database exactly like the boot (``app.boot.Waiter``). When
``DB_ADMIN_PASSWORD`` is missing or refused (a rotated or unavailable master secret), it logs in
as the app's role instead and succeeds only if that role is already set up (``rds_iam`` with
``DB_IAM_AUTH=1``, owner of its schema, no administrative attribute): a redeploy needs no
master password. Never prints a password or a token.

Environment: ``DB_ADMIN_USER`` and ``DB_ADMIN_PASSWORD`` (the master secret) plus the app's
``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_SSLMODE``, ``DB_SSLROOTCERT``, ``DB_USER`` (the role),
``DB_PASSWORD`` or ``DB_IAM_AUTH=1`` with ``AWS_REGION``, ``DB_SCHEMA`` (default ``app``),
``DB_WAKE_DEADLINE_SECONDS``.

Exit status, as the boot's: 0 the role is set up; 1 failed (the message says why); 2 a bad
setting; 124 the database never answered; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Mapping

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from . import boot
from .boot import EXIT_BROKEN, LoginRefusedError, StepFailedError, Waiter, say
from .config import ConfigError, Settings

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Serializes concurrent first boots; differs from the migration lock.
LOCK_KEY = 0x726F6C65  # "role"
SCRAM_ITERATIONS = 4096
# Aurora and RDS PostgreSQL's predefined role: its members log in with IAM auth tokens only.
RDS_IAM = "rds_iam"
MIN_PASSWORD_LENGTH = 16


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


def ensure_app_role(
    conn: psycopg.Connection[TupleRow],
    role: str,
    password: str | None,
    schema: str = "app",
    *,
    iam: bool = False,
    app_sessions: str | None = "flask-app",
) -> list[str]:
    """Create or update ``role`` as owner of ``schema`` only; return what changed.

    ``conn`` is the administrator's, autocommit. ``iam``: no password, member of ``rds_iam``
    (``password`` is ignored). ``app_sessions``: the application_name of the previous version's
    connections (see the module's note on rolling deploys).
    """
    role, schema = _checked(role, "DB_USER"), _checked(schema, "DB_SCHEMA")
    if not iam and (password is None or len(password) < MIN_PASSWORD_LENGTH):
        raise ValueError(f"DB_PASSWORD of the app role must be at least {MIN_PASSWORD_LENGTH} characters")
    admin = conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
    if admin == role:
        raise ValueError(f"DB_USER {role!r} is the administrator; the app needs a role of its own")
    r, s = sql.Identifier(role), sql.Identifier(schema)
    db = sql.Identifier(conn.info.dbname)
    done: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        rds_iam_exists = conn.execute("SELECT to_regrole(%s) IS NOT NULL", (RDS_IAM,)).fetchone()[0]  # type: ignore[index]
        if iam and not rds_iam_exists:
            raise ValueError(
                f"DB_IAM_AUTH=1 but the role {RDS_IAM} does not exist: IAM database authentication needs "
                "Aurora or RDS PostgreSQL with IAM authentication enabled on the cluster"
            )
        if _earlier_tables(conn, schema) and app_sessions:
            done.append(_keep_previous_version_working(conn, admin, schema, app_sessions))
        with conn.transaction():
            credential = (
                sql.SQL("PASSWORD NULL")
                if iam
                else sql.SQL("PASSWORD {}").format(sql.Literal(scram_verifier(password or "")))
            )
            attributes = sql.SQL("LOGIN NOCREATEDB NOCREATEROLE NOINHERIT ") + credential
            existing = conn.execute(
                "SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
            if existing is not None:
                # Only a superuser may name SUPERUSER, REPLICATION or BYPASSRLS in ALTER ROLE, even to
                # switch them off; Aurora's master user is not one. A role that has any of them is
                # refused instead: this step never gives them, so someone else did.
                if existing[0]:
                    raise ValueError(
                        f"DB_USER {role!r} has SUPERUSER, REPLICATION or BYPASSRLS; the app's role must not: "
                        "remove them, or choose another DB_USER"
                    )
                conn.execute(sql.SQL("ALTER ROLE {} ").format(r) + attributes)
            else:
                # CREATE ROLE without those attributes gives none of them.
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
            member = rds_iam_exists and _is_member(conn, role, RDS_IAM)
            if iam and not member:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(RDS_IAM), r))
                done.append(f"granted {RDS_IAM} to {role}: it logs in with IAM auth tokens only")
            elif not iam and member:
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(RDS_IAM), r))
                done.append(f"revoked {RDS_IAM} from {role}: it logs in with its password")
            done.extend(_adopt_earlier_tables(conn, role, schema))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


def _is_member(conn: psycopg.Connection[TupleRow], role: str, group: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = %s AND u.rolname = %s)",
        (group, role),
    ).fetchone()
    return bool(row and row[0])


def _earlier_tables(conn: psycopg.Connection[TupleRow], schema: str) -> bool:
    """A deployment migrated before the app had its role: tables to move into ``schema``."""
    earlier = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()[0]  # type: ignore[index]
    already = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.schema_migrations",)).fetchone()[0]  # type: ignore[index]
    return bool(earlier and not already)


def _keep_previous_version_working(
    conn: psycopg.Connection[TupleRow], admin: str, schema: str, app_sessions: str
) -> str:
    """Before the move: the administrator's new sessions will find the tables in ``schema`` too.

    The previous version's tasks connect as the administrator with ``search_path`` = ``"$user",
    public``, fixed when each session started. Their sessions (named ``app_sessions``) are
    ended, committed setting first, so their pools reconnect with the new path: unqualified
    names resolve to ``public`` until the move commits and to ``schema`` after it.
    """
    conn.execute(
        sql.SQL('ALTER ROLE {} IN DATABASE {} SET search_path = "$user", public, {}').format(
            sql.Identifier(admin), sql.Identifier(conn.info.dbname), sql.Identifier(schema)
        )
    )
    ended = conn.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE usename = current_user AND datname = current_database() AND application_name = %s"
        " AND pid <> pg_backend_pid()",
        (app_sessions,),
    ).fetchone()[0]  # type: ignore[index]
    return (
        f'{admin} now finds the tables in {schema} too (search_path "$user", public, {schema}); '
        f"ended {ended} of its sessions named {app_sessions} so they reconnect with it"
    )


def _adopt_earlier_tables(conn: psycopg.Connection[TupleRow], role: str, schema: str) -> list[str]:
    """Moves the tables of a deployment migrated before the app had its role into its schema."""
    if not _earlier_tables(conn, schema):
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


def verify_app_role(conn: psycopg.Connection[TupleRow], schema: str, iam: bool) -> list[str]:
    """What the logged-in role lacks to be the app's role as this step sets it up (empty: nothing)."""
    role, privileged = conn.execute(
        "SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()  # type: ignore[misc]
    problems = []
    if privileged:
        problems.append(f"{role} has an administrative attribute")
    owner = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if owner is None:
        problems.append(f"the schema {schema} does not exist")
    elif owner[0] != role:
        problems.append(f"the schema {schema} belongs to {owner[0]}, not {role}")
    if iam and not _is_member(conn, role, RDS_IAM):
        problems.append(f"{role} is not a member of {RDS_IAM}")
    return problems


def main(env: Mapping[str, str] | None = None) -> int:
    """Wait for the database, then set the role up (or check it is); the exit status."""
    try:
        setup(os.environ if env is None else env)
    except StepFailedError as exc:
        return exc.status
    return 0


def setup(env: Mapping[str, str]) -> str:
    """The admin step: its summary line, or StepFailedError (already logged) with its exit status."""
    try:
        settings = Settings.from_env(env, database_only=True)
        deadline_seconds = boot.wake_deadline(env)
        admin = env.get("DB_ADMIN_USER", "").strip()
        if not admin:
            raise ConfigError("DB_ADMIN_USER is required but not set")
        role = _checked(settings.db_user, "DB_USER")
        schema = _checked(env.get("DB_SCHEMA") or "app", "DB_SCHEMA")
        if admin == role:
            raise ConfigError(f"DB_USER {role!r} is DB_ADMIN_USER; the app needs a role of its own")
        if not settings.db_iam_auth and len(settings.db_password) < MIN_PASSWORD_LENGTH:
            raise ConfigError(f"DB_PASSWORD of the app role must be at least {MIN_PASSWORD_LENGTH} characters")
        boot.check_signing(settings)
    except ValueError as exc:  # ConfigError, or a bad role or schema name
        raise StepFailedError.logged("app_role", f"bad setting: {exc}", EXIT_BROKEN) from None

    waiter = Waiter(settings, deadline_seconds, name="app_role")
    say(f"app_role: waiting up to {deadline_seconds} s for PostgreSQL at {settings.db_host}:{settings.db_port}")
    if not waiter.tcp():
        raise waiter.gave_up(f"{settings.db_host}:{settings.db_port} never accepted a TCP connection")
    password = env.get("DB_ADMIN_PASSWORD", "")
    if not password:
        say(f"app_role: DB_ADMIN_PASSWORD is not set; checking that {role} is set up already")
        return _check_as_the_app(waiter, role, schema)
    try:
        conn = waiter.connect((admin, password), refused_is_final=True)
    except LoginRefusedError as exc:
        say(f"app_role: {admin} cannot log in ({exc}); checking that {role} is set up already")
        return _check_as_the_app(waiter, role, schema)
    if conn is None:
        raise waiter.gave_up("the database did not answer SELECT 1")
    with conn:
        try:
            done = ensure_app_role(
                conn,
                role,
                settings.db_password or None,
                schema,
                iam=settings.db_iam_auth,
                app_sessions=settings.db_application_name,
            )
        except (ValueError, psycopg.Error) as exc:
            # The message names what failed; it never holds a password (only verifiers are sent).
            raise StepFailedError.logged("app_role", f"failed: {type(exc).__name__}: {str(exc).strip()}", 1) from None
    for line in done:
        say(f"app_role: {line}")
    login = f"IAM auth tokens ({RDS_IAM})" if settings.db_iam_auth else "its password"
    return _summary(f"{role} is set up: owner of schema {schema}, logs in with {login}")


def _check_as_the_app(waiter: Waiter, role: str, schema: str) -> str:
    iam = waiter.settings.db_iam_auth
    try:
        conn = waiter.connect(refused_is_final=True)
    except LoginRefusedError as exc:
        raise StepFailedError.logged(
            "app_role",
            f"failed: {role} cannot log in either ({exc}): it is not set up yet, "
            "and setting it up needs the master user's password in DB_ADMIN_PASSWORD",
            1,
        ) from None
    if conn is None:
        raise waiter.gave_up("the database did not answer SELECT 1")
    with conn:
        problems = verify_app_role(conn, schema, iam)
    if problems:
        raise StepFailedError.logged(
            "app_role",
            f"failed: {role} is not fully set up ({'; '.join(problems)}), "
            "and finishing it needs the master user's password in DB_ADMIN_PASSWORD",
            1,
        )
    how = f"with an IAM auth token, member of {RDS_IAM}" if iam else "with its password"
    return _summary(f"{role} is set up already (logged in as it {how}; owner of schema {schema}): nothing to change")


def _summary(line: str) -> str:
    say(f"app_role: {line}")
    return line


if __name__ == "__main__":
    boot.stop_on_sigterm("app_role")
    sys.exit(main())
