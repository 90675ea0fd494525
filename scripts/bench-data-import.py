"""Restore throughput of the data import on a dump of at least 1 GB (not part of CI).

  bash assets/data-import/run-tests.sh -q        # once: makes the virtualenv
  /tmp/cdk-flask-serverless-data-import-venv/bin/python scripts/bench-data-import.py [--todos N] [--compress N]

Starts a source server (the Debian package's PostgreSQL) and a PostgreSQL 16 target as the
tests do, fills the source with the reference app's schema (users and todos rows of realistic
size), makes the dump and its manifest with make-manifest.py --dump, then runs import.py as the
task does and prints what it measured: rows/s and MB/s of dump for the restore (one transaction,
COPY, index builds, foreign key check, count verification), and the time of each step.

Both servers and the import share this machine's cores, so the numbers are a floor for a
dedicated machine and vary from run to run; on Aurora the restore is bound by the cluster's ACUs
and the task's vCPU instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assets" / "data-import" / "tests"))

import conftest  # noqa: E402  (the tests' servers and helpers)
from app.app_role import ensure_app_role  # noqa: E402
from app.migrate import DEFAULT_DIR, discover, migrate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--todos", type=int, default=8_000_000)
    parser.add_argument(
        "--compress", type=int, default=0, help="pg_dump -Z level (0: the dump is as large as the data)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-data-import-"))
    source = target = None
    try:
        source = conftest._start(conftest._pg_bin("SOURCE_PG_BIN", conftest.pgcluster.find_pg_bin()))
        target = conftest._start(conftest._pg_bin("TARGET_PG_BIN", conftest._target_bin()))
        with source.connect() as conn:
            conn.execute("CREATE DATABASE bench")
        with source.connect("bench") as conn:
            migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)
            started = time.monotonic()
            conn.execute(
                "INSERT INTO users (username, password_hash, created_at) SELECT 'user' || i,"
                " '$argon2id$v=19$m=65536,t=3,p=4$' || md5(i::text) || '$' || md5((i * 7)::text),"
                " now() - i * interval '1 minute' FROM generate_series(1, %s) i",
                (args.users,),
            )
            conn.execute(
                "INSERT INTO todos (user_id, title, done, created_at, updated_at)"
                " SELECT 1 + (i %% %s),"
                " 'Todo number ' || i || ': ' || left(md5(i::text) || md5((i + 1)::text), 20 + i %% 40),"
                " i %% 3 = 0, now() - i * interval '1 second', now() - i * interval '1 second'"
                " FROM generate_series(1, %s) i",
                (args.users, args.todos),
            )
            size = conn.execute("SELECT pg_database_size('bench')").fetchone()[0]
            filled = time.monotonic() - started
            print(f"bench: source filled in {filled:.0f} s: {args.users} users, {args.todos} todos, "
                  f"database {size / 1e9:.2f} GB", flush=True)  # fmt: skip

        with target.connect() as conn:
            conn.execute(
                f"CREATE ROLE {conftest.MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{conftest.MASTER_PASSWORD}'"
            )
        with target.connect(user=conftest.MASTER, password=conftest.MASTER_PASSWORD) as conn:
            conn.execute("CREATE DATABASE bench")
        with target.connect("bench", conftest.MASTER, conftest.MASTER_PASSWORD) as conn:
            ensure_app_role(conn, conftest.APP_ROLE, conftest.APP_PASSWORD, "app")
        with target.connect("bench", conftest.APP_ROLE, conftest.APP_PASSWORD) as conn:
            migrate(conn, discover(DEFAULT_DIR), say=lambda _: None)

        started = time.monotonic()
        dump = work / "bench.dump"
        extra = [f"--compress={args.compress}"]
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(source.port), "PGUSER": "postgres"}
        env["PGPASSWORD"] = source.cluster.password  # type: ignore[attr-defined]
        subprocess.run(
            [sys.executable, str(conftest.MAKE_MANIFEST), "--pg-bin", str(source.pg_bin), "--dump", str(dump),
             "-d", "bench", "--", *extra],
            env=env, check=True,
        )  # fmt: skip
        dump_bytes = dump.stat().st_size
        print(f"bench: pg_dump -Fc -Z{args.compress} and manifest in {time.monotonic() - started:.0f} s: "
              f"{dump_bytes / 1e9:.2f} GB", flush=True)  # fmt: skip

        importer = conftest.Importer(target, "bench", work)
        started = time.monotonic()
        result = importer.run(dump, timeout=3600)
        wall = time.monotonic() - started
        if result.status != 0:
            print(f"bench: the import failed (exit {result.status})", file=sys.stderr)
            return 1
        summary = re.search(r"restore ([\d.]+) s \(([\d,]+) rows/s, ([\d.]+) MB/s", result.output)
        assert summary
        print(
            f"bench: import of {dump_bytes / 1e9:.2f} GB ({args.users + args.todos + 1} rows) in {wall:.0f} s: "
            f"restore {summary.group(1)} s = {summary.group(2)} rows/s, {summary.group(3)} MB/s of dump "
            f"({os.cpu_count()} cores, shared with both servers)"
        )
        return 0
    finally:
        for server in (source, target):
            if server is not None:
                server.cluster.destroy()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
