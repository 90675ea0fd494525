"""python -m app.migrate: ordered, recorded, idempotent, and safe when two tasks boot at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.migrate import DEFAULT_DIR

from .conftest import APP_DIR
from .pgcluster import PgServer


def _env(pg: PgServer, dbname: str) -> dict[str, str]:
    return {**os.environ, **pg.db_env(dbname), "PYTHONDONTWRITEBYTECODE": "1"}


def _migrate(pg: PgServer, dbname: str, directory: Path = DEFAULT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.migrate", "--dir", str(directory)],
        cwd=APP_DIR,
        env=_env(pg, dbname),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _versions(pg: PgServer, dbname: str) -> list[tuple[int, str]]:
    with pg.connect(dbname) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")]


def _tables(pg: PgServer, dbname: str) -> set[str]:
    with pg.connect(dbname) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def slow_dir(tmp_path: Path) -> Path:
    """The real migrations plus a second one that takes a second, to make runs overlap."""
    for path in DEFAULT_DIR.glob("*.sql"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "0002_slow_marker.sql").write_text("SELECT pg_sleep(1);\nCREATE TABLE slow_marker (id int);\n")
    return tmp_path


def test_the_first_run_applies_every_file_in_order_and_records_it(pg: PgServer, fresh_db: str) -> None:
    result = _migrate(pg, fresh_db)
    assert result.returncode == 0, result.stderr
    assert "applied 0001_users_and_todos.sql" in result.stdout
    assert _versions(pg, fresh_db) == [(1, "0001_users_and_todos.sql")]
    assert {"users", "todos", "schema_migrations"} <= _tables(pg, fresh_db)


def test_a_second_run_changes_nothing(pg: PgServer, fresh_db: str) -> None:
    assert _migrate(pg, fresh_db).returncode == 0
    with pg.connect(fresh_db) as conn:
        before = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    again = _migrate(pg, fresh_db)
    assert again.returncode == 0, again.stderr
    assert "schema up to date" in again.stdout and "applied" not in again.stdout
    with pg.connect(fresh_db) as conn:
        assert conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == before


def _run_two_at_once(pg: PgServer, dbname: str, directory: Path) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.migrate", "--dir", str(directory)],
            cwd=APP_DIR,
            env=_env(pg, dbname),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_two_processes_at_once_apply_each_file_exactly_once(pg: PgServer, fresh_db: str) -> None:
    results = _run_two_at_once(pg, fresh_db, DEFAULT_DIR)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert sum(r.stdout.count("applied 0001") for r in results) == 1
    assert _versions(pg, fresh_db) == [(1, "0001_users_and_todos.sql")]


def test_two_overlapping_runs_wait_for_each_other(pg: PgServer, fresh_db: str, slow_dir: Path) -> None:
    results = _run_two_at_once(pg, fresh_db, slow_dir)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    output = "".join(r.stdout for r in results)
    assert output.count("applied 0001") == 1 and output.count("applied 0002") == 1
    assert [v for v, _ in _versions(pg, fresh_db)] == [1, 2]
    assert "slow_marker" in _tables(pg, fresh_db)


def test_a_failing_file_is_rolled_back_and_not_recorded(pg: PgServer, fresh_db: str, tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "0001_users_and_todos.sql", tmp_path)
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    result = _migrate(pg, fresh_db, tmp_path)
    assert result.returncode == 1
    assert "migrate: failed" in result.stderr and "Traceback" not in result.stderr
    assert [v for v, _ in _versions(pg, fresh_db)] == [1]
    assert "half_done" not in _tables(pg, fresh_db)


def test_an_applied_file_that_was_edited_is_refused(pg: PgServer, fresh_db: str, tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "0001_users_and_todos.sql", tmp_path)
    assert _migrate(pg, fresh_db, tmp_path).returncode == 0
    path = tmp_path / "0001_users_and_todos.sql"
    path.write_text(path.read_text() + "\n-- edited\n")
    result = _migrate(pg, fresh_db, tmp_path)
    assert result.returncode == 1
    assert "changed after it was applied" in result.stderr


def test_a_misnamed_file_is_refused_before_connecting(pg: PgServer, fresh_db: str, tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    result = _migrate(pg, fresh_db, tmp_path)
    assert result.returncode == 1
    assert "NNNN_lowercase_words.sql" in result.stderr
