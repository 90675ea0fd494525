#!/usr/bin/env python3
"""Row counts per table of the SOURCE database, for the import to check its restore against.

Run it where you run pg_dump; it needs only Python 3.8+ and psql (and pg_dump with --dump):

  # The dump and its manifest from one snapshot (recommended: consistent even while the app writes)
  python3 make-manifest.py --dump mydb.dump -d "host=old-db.example.com dbname=mydb user=me"
  # -> mydb.dump and mydb.dump.manifest.json

  # Counts only, for a dump you make yourself (make it while nothing writes to the database)
  python3 make-manifest.py -d mydb -o mydb.dump.manifest.json

The connection is libpq's: -d takes a database name or a connection string, and the usual
PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE variables or ~/.pgpass apply. No password on the
command line is needed, and none is written anywhere.

With --dump, one psql session opens a REPEATABLE READ transaction and exports its snapshot;
``pg_dump -Fc --snapshot`` dumps exactly that snapshot while the same session counts the rows:
the counts are those of the dump, whatever the app writes meanwhile. The manifest then also
holds the dump's size and SHA-256, which the import checks after downloading it. That session
stays in its transaction while pg_dump runs: if the source sets
idle_in_transaction_session_timeout (PostgreSQL and RDS do not by default), raise it for the
user you run this as.

The manifest lists every ordinary and partitioned table outside the system schemas (rows of
that table alone, not its partitions or children), except the tables of extensions, whose rows
pg_dump does not dump. It holds names and counts, never row data.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

FORMAT = "cdk-flask-serverless/data-import-manifest/1"
SEP = "\x1f"  # between fields of psql's unaligned output: cannot occur in a name

TABLES = r"""
SELECT format('SELECT %L || chr(31) || %L || chr(31) || count(*) FROM ONLY %I.%I',
              n.nspname, c.relname, n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY n.nspname, c.relname
"""


def tool(name: str, pg_bin: str | None) -> str:
    path = os.path.join(pg_bin, name) if pg_bin else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        sys.exit(f"make-manifest: {name} not found (install the PostgreSQL client tools, or pass --pg-bin)")
    return path


def read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        sys.exit(f"make-manifest: psql stopped (exit {proc.returncode}); its message is above")
    return line.rstrip("\n")


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dbname", default=None, help="database name or libpq connection string")
    parser.add_argument("--dump", metavar="FILE", help="also make the dump (pg_dump -Fc) from the same snapshot")
    parser.add_argument("-o", "--output", metavar="FILE", help="manifest file (default: DUMP.manifest.json, or stdout)")
    parser.add_argument("--pg-bin", help="directory of psql and pg_dump (default: from PATH)")
    parser.add_argument("pg_dump_args", nargs="*", help="after --: more pg_dump options (e.g. --compress=9)")
    args = parser.parse_args(argv)
    psql = tool("psql", args.pg_bin)
    output = args.output or (args.dump + ".manifest.json" if args.dump else None)

    connect = ["-d", args.dbname] if args.dbname else []
    session = subprocess.Popen(
        [psql, "-X", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1", *connect],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert session.stdin is not None

    def send(text: str) -> None:
        session.stdin.write(text + "\n")  # type: ignore[union-attr]
        session.stdin.flush()  # type: ignore[union-attr]

    send("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
    send(
        "SELECT current_setting('server_version') || chr(31) || current_database()"
        " || chr(31) || pg_catalog.pg_export_snapshot();"
    )
    version, database, snapshot = read_line(session).split(SEP)
    dump = None
    if args.dump:
        pg_dump = tool("pg_dump", args.pg_bin)
        print(
            f"make-manifest: pg_dump -Fc of {database} (PostgreSQL {version}) at snapshot {snapshot}", file=sys.stderr
        )
        status = subprocess.run(
            [pg_dump, "-Fc", "--snapshot", snapshot, "-f", args.dump, *connect, *args.pg_dump_args]
        ).returncode
        if status != 0:
            session.kill()
            sys.exit(f"make-manifest: pg_dump failed (exit {status}); no manifest written")
        dump = {
            "file": os.path.basename(args.dump),
            "bytes": os.path.getsize(args.dump),
            "sha256": sha256_of(args.dump),
        }
    send(TABLES + r"\gexec")
    send("COMMIT;")
    session.stdin.close()
    assert session.stdout is not None
    lines = session.stdout.read().splitlines()
    if session.wait() != 0:
        sys.exit(f"make-manifest: psql failed (exit {session.returncode}); its message is above")
    tables = []
    for line in lines:
        schema, table, rows = line.split(SEP)
        tables.append({"schema": schema, "table": table, "rows": int(rows)})
    manifest = {
        "format": FORMAT,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "source": {"server_version": version, "database": database},
        "dump": dump,
        "tables": tables,
    }
    text = json.dumps(manifest, indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        total = sum(t["rows"] for t in tables)
        print(f"make-manifest: {len(tables)} tables, {total} rows -> {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
