"""One connection attempt and ``SELECT 1``: the query step of docker/wait-for-it.sh.

Exit status: 0 the database answered, 1 it did not (worth retrying), 2 the settings are wrong
(retrying cannot help). A paused Aurora Serverless v2 resumes on this connection attempt.
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg

from .config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    """Connect with the environment contract (host and port may be overridden), run SELECT 1."""
    parser = argparse.ArgumentParser(prog="python -m app.ping", description=__doc__.splitlines()[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--timeout", type=int, help="connect timeout in seconds (libpq minimum 2)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.host:
        env["DB_HOST"] = args.host
    if args.port:
        env["DB_PORT"] = str(args.port)
    try:
        settings = Settings.from_env(env, database_only=True)
    except ConfigError as exc:
        print(f"ping: configuration error: {exc}", file=sys.stderr)
        return 2
    kwargs = settings.conninfo_kwargs()
    kwargs["application_name"] = f"{settings.db_application_name}-wake"
    if args.timeout:
        kwargs["connect_timeout"] = max(2, args.timeout)
    try:
        with psycopg.connect(**kwargs) as conn:  # type: ignore[arg-type]
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()
        print(f"ping: {type(exc).__name__}: {text[0] if text else 'no details'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
