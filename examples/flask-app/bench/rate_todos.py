"""A fixed request rate (open loop), for bench_todos.sh's third argument: latency at, say, 100 rps.

    python rate_todos.py URL TOKEN RATE DURATION_SECONDS

Requests start on schedule whether or not earlier ones have finished (wrk, by contrast, waits for
each answer), so a slow server shows up as latency, not as a lower rate. Prints one RESULT line.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def main() -> None:
    """Run the schedule and print the percentiles."""
    url, token, rate, duration = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    local = threading.local()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one() -> None:
        nonlocal errors
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        try:
            ok = session.get(url, timeout=30).status_code == 200
        except requests.RequestException:
            ok = False
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            errors += 0 if ok else 1

    total = int(rate * duration)
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    wall = time.perf_counter() - begin
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"RESULT GET /todos at {rate:g} rps for {duration:g} s: {len(latencies) / wall:.1f} requests/s done, "
        f"p50 {pct(0.50):.1f}ms, p99 {pct(0.99):.1f}ms, max {latencies[-1] * 1000:.1f}ms, errors {errors}"
    )


if __name__ == "__main__":
    main()
