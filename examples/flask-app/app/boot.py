"""The boot step before gunicorn: check the image, wait for (and wake) the database, migrate.

``python -m app.boot [serve GUNICORN_ARGS...]`` (docker/entrypoint.sh execs it with ``serve``):

1. **Check the image and its settings** before waiting for anything: import the whole app, build
   it from the environment and read the migration files. A missing package, a bad setting or a
   malformed migration directory fails at once with the real error (exit 2): retrying cannot
   fix a broken image, and it must not look like a sleeping database.
2. **Wait for the database**: first its TCP port (polled every 0.1 s), then a login and
   ``SELECT 1`` (retried from 0.25 s, doubling to 1 s), at most DB_WAKE_DEADLINE_SECONDS
   (default 120). A paused Aurora Serverless v2 accepts TCP and resumes only once a client
   logs in (about 15 s). Gives up with exit 124. Short intervals keep the boot overhead once the
   database answers well under a second; one process does every step, so the interpreter and
   the app's imports are paid once.
3. **Migrate** on that same connection (app/migrate.py, under an advisory lock), unless
   SKIP_MIGRATIONS=1. Exit 1 if a migration fails.
4. With ``serve``, **run gunicorn in this same process** (it stays PID 1 and gets ECS's SIGTERM
   itself). The app and its packages are imported already, so gunicorn serves within tens of
   milliseconds instead of paying a second interpreter start and every import again (most of
   the boot overhead on a quarter vCPU).

Exit status: 0 ready for gunicorn; 1 migrations failed; 2 broken image or settings; 124 the
database never answered; 143 stopped by SIGTERM before gunicorn ran.

``deploy()`` (``python -m app.boot deploy``) is the same wait and migrations once per deploy,
preceded by the admin step (app/app_role.py) when ``DB_ADMIN_USER`` is set: Lambda's migrate
function calls it, so cold starts never migrate. It raises StepFailedError with the real error.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, Settings

if TYPE_CHECKING:
    import psycopg

TCP_POLL_SECONDS = 0.1
QUERY_FIRST_DELAY, QUERY_MAX_DELAY = 0.25, 1.0
EXIT_BROKEN, EXIT_GAVE_UP = 2, 124


def say(message: str) -> None:
    """One line of the boot log (stdout, unbuffered: the container log shows it at once)."""
    print(message, flush=True)


def check_image(env: Mapping[str, str]) -> tuple[Settings, list[Any]]:
    """Import and build the app the way gunicorn will, and read the migrations; raise on any fault."""
    # Imported here, not at the top: the import itself is what is being checked.
    from . import create_app, server  # noqa: F401 (server: the gunicorn worker class)
    from .migrate import DEFAULT_DIR, discover

    settings = Settings.from_env(env)
    create_app(settings)  # opens no connection
    check_signing(settings)
    return settings, list(discover(Path(env.get("MIGRATIONS_DIR") or DEFAULT_DIR)))


def check_signing(settings: Settings) -> None:
    """With DB_IAM_AUTH=1, sign one token now: missing AWS credentials are a setting to fix, not
    a database to wait for."""
    if settings.db_iam_auth:
        from .iam_auth import TokenError

        try:
            settings.new_password()
        except TokenError as exc:
            raise ConfigError(str(exc)) from None


class StepFailedError(RuntimeError):
    """A step of the boot, the admin step or the deploy failed; ``status`` is its exit status.

    The message is the line already logged: the real error (a migration's, verbatim), never a
    password or a token.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @classmethod
    def logged(cls, name: str, message: str, status: int) -> StepFailedError:
        """Log ``name: message`` and return the error to raise, with that line as its message."""
        say(f"{name}: {message}")
        return cls(f"{name}: {message}", status)


class LoginRefusedError(Exception):
    """The server answered and refused the login: waiting longer cannot fix that."""


# How PostgreSQL and RDS word a refused login (the error has no SQLSTATE on the client side).
_REFUSED = ("password authentication failed", "PAM authentication failed", "no password supplied")


class Waiter:
    """The wait for the database, against one deadline. ``name`` prefixes every log line."""

    def __init__(self, settings: Settings, deadline_seconds: int, name: str = "boot") -> None:
        self.settings = settings
        self.deadline_seconds = deadline_seconds
        self.name = name
        self.started = time.monotonic()

    def elapsed(self) -> str:
        """Seconds since the wait started, one decimal."""
        return f"{time.monotonic() - self.started:.1f}"

    def left(self) -> float:
        """Seconds before the deadline."""
        return self.started + self.deadline_seconds - time.monotonic()

    def gave_up(self, why: str) -> StepFailedError:
        """Log the reason and return the error to raise (exit status 124)."""
        return StepFailedError.logged(self.name, f"gave up after {self.elapsed()} s: {why}", EXIT_GAVE_UP)

    def tcp(self) -> bool:
        """Wait for the port to accept a connection; False at the deadline."""
        s = self.settings
        target = f"{s.db_host}:{s.db_port}"
        next_note = 0.0
        while True:
            try:
                with socket.create_connection((s.db_host, s.db_port), timeout=max(0.1, min(2.0, self.left()))):
                    say(f"{self.name}: {target} accepts TCP connections after {self.elapsed()} s")
                    return True
            except OSError as exc:
                if self.left() <= 0:
                    return False
                if time.monotonic() >= next_note:
                    say(
                        f"{self.name}: {target} not accepting connections yet "
                        f"({self.elapsed()} s: {exc.strerror or exc})"
                    )
                    next_note = time.monotonic() + 10
                time.sleep(min(TCP_POLL_SECONDS, max(0.0, self.left())))

    def connect(
        self, login: tuple[str, str] | None = None, *, refused_is_final: bool = False
    ) -> psycopg.Connection[Any] | None:
        """Log in and run SELECT 1 until it works; None at the deadline.

        ``login`` is another (user, password) than the app's, for the administrator. Each
        attempt signs its own token with DB_IAM_AUTH=1. ``refused_is_final`` raises
        LoginRefusedError at the first refused login instead of retrying it.
        """
        import psycopg

        s = self.settings
        delay = QUERY_FIRST_DELAY
        attempt = 0
        while True:
            attempt += 1
            # libpq counts connect_timeout in whole seconds, 2 at least; never much past the deadline.
            timeout = max(2, min(s.db_connect_timeout, int(self.left()) + 1))
            try:
                kwargs = s.conninfo_kwargs(with_password=login is None)
                if login is not None:
                    kwargs.update(user=login[0], password=login[1])
                kwargs.update(connect_timeout=timeout, application_name=f"{s.db_application_name}-{self.name}")
                conn = psycopg.connect(**kwargs, autocommit=True)
                conn.execute("SELECT 1")
                say(f"{self.name}: database answered SELECT 1: woke after {self.elapsed()} s (attempt {attempt})")
                return conn
            except psycopg.OperationalError as exc:
                text = str(exc).strip().splitlines()
                reason = text[0] if text else type(exc).__name__
                if refused_is_final and any(words in reason for words in _REFUSED):
                    raise LoginRefusedError(reason) from None
                if self.left() <= 0:
                    say(f"{self.name}: attempt {attempt}: {reason}")
                    return None
                pause = min(delay, max(0.0, self.left()))
                say(f"{self.name}: attempt {attempt}: SELECT 1 failed at {self.elapsed()} s ({reason})")
                say(f"{self.name}: retrying in {pause:.2f} s")
                time.sleep(pause)
                delay = min(delay * 2, QUERY_MAX_DELAY)


def wake_deadline(env: Mapping[str, str]) -> int:
    """DB_WAKE_DEADLINE_SECONDS (default 120): how long to wait for the database."""
    raw = env.get("DB_WAKE_DEADLINE_SECONDS", "").strip() or "120"
    if not raw.isdigit() or int(raw) == 0:
        raise ConfigError(f"DB_WAKE_DEADLINE_SECONDS must be a positive number of seconds, got {raw!r}")
    return int(raw)


def stop_on_sigterm(name: str = "boot") -> float:
    """As PID 1, a signal without a handler is ignored: make SIGTERM end the boot at once."""
    started = time.monotonic()

    def stop(signum: int, _frame: object) -> None:
        say(f"{name}: stopped by a signal after {time.monotonic() - started:.1f} s")
        os._exit(128 + signum)  # at once, even in the middle of a connection attempt

    signal.signal(signal.SIGTERM, stop)
    return started


def serve(gunicorn_args: list[str]) -> None:
    """Run gunicorn in this process, as the ``gunicorn`` command would with these arguments."""
    from gunicorn.app.wsgiapp import WSGIApplication

    # gunicorn's arbiter installs its own signal handlers (graceful stop on SIGTERM).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = ["gunicorn", *gunicorn_args]
    say(f"boot: starting gunicorn on port {os.environ.get('PORT', '8000')}")
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").run()


def main(env: Mapping[str, str] | None = None) -> int:
    """Check, wait, migrate; the exit status."""
    env = os.environ if env is None else env
    try:
        deadline_seconds = wake_deadline(env)
        settings, migrations = check_image(env)
    except ConfigError as exc:
        say(f"boot: bad setting: {exc}")
        return EXIT_BROKEN
    except Exception as exc:  # an import error, a malformed migration file: the image is broken
        say(f"boot: the image is broken: {type(exc).__name__}: {exc}")
        return EXIT_BROKEN
    try:
        wait_and_migrate(Waiter(settings, deadline_seconds), migrations, skip=env.get("SKIP_MIGRATIONS", "0") == "1")
    except StepFailedError as exc:
        return exc.status
    return 0


def wait_and_migrate(waiter: Waiter, migrations: list[Any], *, skip: bool = False) -> list[str]:
    """Wait for the database, log in as the app and apply the pending migrations under the
    advisory lock; the names applied. Raises StepFailedError (logged) with the real error."""
    import psycopg

    from .migrate import MigrationError, migrate

    s = waiter.settings
    say(f"{waiter.name}: waiting up to {waiter.deadline_seconds} s for PostgreSQL at {s.db_host}:{s.db_port}")
    if not waiter.tcp():
        raise waiter.gave_up(f"{s.db_host}:{s.db_port} never accepted a TCP connection")
    conn = waiter.connect()
    if conn is None:
        raise waiter.gave_up("the database did not answer SELECT 1")
    with conn:
        if skip:
            say(f"{waiter.name}: SKIP_MIGRATIONS=1, not migrating")
            return []
        try:
            applied = migrate(conn, migrations, say=say)
        except (MigrationError, psycopg.Error) as exc:
            raise StepFailedError.logged("migrate", f"failed: {type(exc).__name__}: {str(exc).strip()}", 1) from None
    if applied:
        say(f"migrate: done, {len(applied)} applied, {len(migrations)} in total")
    else:
        say(f"migrate: schema up to date ({len(migrations)} migrations)")
    return applied


def deploy(env: Mapping[str, str] | None = None) -> list[str]:
    """The deploy-time step, once per deploy (Lambda's migrate function calls it): check the
    settings, wait for (wake) the database, run the admin step (app/app_role.py) when
    DB_ADMIN_USER is set, then apply the pending migrations as the app's role under the advisory
    lock. Returns the names of the migrations applied.

    Raises StepFailedError, whose message is the failing step's real error (a migration's
    verbatim, as PostgreSQL reported it) and ``status`` the exit status the boot would have
    (1 failed, 2 bad settings or a broken image, 124 the database never answered).
    """
    from .migrate import DEFAULT_DIR, discover

    env = os.environ if env is None else env
    started = time.monotonic()
    try:
        deadline_seconds = wake_deadline(env)
        settings = Settings.from_env(env, database_only=True)
        check_signing(settings)
        migrations = list(discover(Path(env.get("MIGRATIONS_DIR") or DEFAULT_DIR)))
    except ConfigError as exc:
        raise StepFailedError.logged("deploy", f"bad setting: {exc}", EXIT_BROKEN) from None
    except Exception as exc:  # a malformed migration directory: the image is broken
        raise StepFailedError.logged(
            "deploy", f"the image is broken: {type(exc).__name__}: {exc}", EXIT_BROKEN
        ) from None
    if env.get("DB_ADMIN_USER", "").strip():
        from . import app_role

        app_role.setup(env)
    else:
        say("deploy: DB_ADMIN_USER is not set, no admin step")
    applied = wait_and_migrate(Waiter(settings, deadline_seconds, name="deploy"), migrations)
    say(f"deploy: done in {time.monotonic() - started:.1f} s")
    return applied


if __name__ == "__main__":
    stop_on_sigterm()
    if sys.argv[1:2] == ["deploy"]:  # the deploy-time step as a one-off command (a task, CI)
        try:
            deploy()
        except StepFailedError as failed:
            sys.exit(failed.status)
        sys.exit(0)
    status = main()
    if status == 0 and sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
    sys.exit(status)
