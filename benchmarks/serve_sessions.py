"""What server-side sessions and the audit trail cost per request: the session lookup (a SQLite read of
the ``sessions`` table plus one ``stat`` of the users file), a film-opened audit row (a committed write),
and a whole authenticated ``GET /api/worklist`` through the app, beside the same request of a room
without logins. Prints medians and p95 in milliseconds with the machine's load.

    .venv/bin/python benchmarks/serve_sessions.py [--requests 300] [--sessions 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def timed(fn, n: int) -> dict[str, float]:
    """Median and p95 of ``n`` calls of ``fn`` in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(0.95 * (n - 1))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=1000, help="other open sessions in the table")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app
    from cxr_regions.serve.audit import Actor
    from helpers.pacs import tiny_run
    from helpers.sessions import login, make_users

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        run = tiny_run(root)
        users = make_users(root / "users.yaml")
        with_logins = create_app(ServeConfig(run=run, data=root / "a", users=users, demo=False))
        without = create_app(ServeConfig(run=run, data=root / "b", demo=False))
        with TestClient(with_logins) as client, TestClient(without) as local:
            services = with_logins.state.services
            for _ in range(args.sessions):
                services.sessions.start("dr_wang", "192.0.2.1")
            login(client, "dr_li")
            cookie = client.cookies["cxr_reading_room"]
            results = {
                "session_lookup": timed(lambda: services.keeper.open(cookie), args.requests),
                "film_opened_audit_row": timed(
                    lambda: services.audit.record("film_opened", Actor("dr_li", "192.0.2.1"), film_id=1),
                    args.requests,
                ),
                "api_worklist_with_login": timed(lambda: client.get("/api/worklist"), args.requests),
                "api_worklist_without_logins": timed(lambda: local.get("/api/worklist"), args.requests),
                "login_argon2_verify": timed(lambda: services.accounts.verify("dr_li", "wrong"), 10),
            }
    print(
        json.dumps(
            {
                **results,
                "other_sessions": args.sessions,
                "requests": args.requests,
                "cpus": os.cpu_count(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
