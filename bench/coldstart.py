"""(5) Cold start: a fresh interpreter imports one function module and serves its first API Gateway v2
event through the module's Mangum handler, against a minimal FastAPI + Mangum hello handler in the
same kind of fresh interpreter. Each child also reports which heavy third-party packages were
imported by then, and which line of ours imported each first (eager imports cost every cold start)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench.common import active_gig, ratio
from devtools.paths import PROJECT_ROOT

HEAVY = ("supabase", "stripe", "httpx", "bcrypt", "cryptography", "storage3", "gotrue", "supabase_auth", "puremagic")

_TRACKER = """
import sys, time, json, traceback
HEAVY = set(%(heavy)r)
ROOT = %(root)r
first = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        if top in HEAVY and top not in first:
            ours = [f for f in traceback.extract_stack() if f.filename.startswith(ROOT) and '/.venv/' not in f.filename]
            first[top] = (ours[-1].filename[len(ROOT) + 1:] + ':' + str(ours[-1].lineno)) if ours else 'third-party'
        return None
sys.meta_path.insert(0, Spy())
"""

_FUNCTION = """
t0 = time.perf_counter()
import functions.%(module)s as m
t1 = time.perf_counter()
result = m.handler(%(event)r, {"aws_request_id": "cold"})
t2 = time.perf_counter()
"""

_HELLO = """
t0 = time.perf_counter()
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()
@app.get("/hello")
async def hello():
    return {"success": True, "data": {"hello": "world"}}
handler = Mangum(app, lifespan="off")
t1 = time.perf_counter()
result = handler(%(event)r, {"aws_request_id": "cold"})
t2 = time.perf_counter()
"""

_REPORT = """
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_event_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
                  "status": result["statusCode"], "heavy_imported_by": first}))
"""


def event(path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "bench.example", "x-forwarded-for": "203.0.113.10"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.example",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "bench",
            },
            "requestId": "cold-start",
            "routeKey": f"GET {path}",
            "stage": "$default",
            "time": "21/Nov/2026:20:40:12 +0000",
            "timeEpoch": 1795293612000,
        },
        "isBase64Encoded": False,
    }


def _child(body: str, env: dict[str, str]) -> dict[str, Any]:
    code = _TRACKER % {"heavy": HEAVY, "root": str(PROJECT_ROOT)} + body + _REPORT
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(url: str, runs: int, module: str = "gigs") -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UGIG_ENV": "local",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    fn_body = _FUNCTION % {"module": module, "event": event(f"/api/v1/gigs/{active_gig(url)}")}
    hello_body = _HELLO % {"event": event("/hello")}
    _child(fn_body, env)  # compiles .pyc once, as a deployed package ships them
    _child(hello_body, env)
    fn_runs, hello_runs = [], []
    for _ in range(runs):
        fn_runs.append(_child(fn_body, env))
        hello_runs.append(_child(hello_body, env))
    assert all(r["status"] == 200 for r in fn_runs + hello_runs), (fn_runs[-1], hello_runs[-1])

    def med(rs: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in rs), 1)

    fn = {k: med(fn_runs, k) for k in ("import_ms", "first_event_ms", "total_ms")}
    hello = {k: med(hello_runs, k) for k in ("import_ms", "first_event_ms", "total_ms")}
    return {
        "function": f"functions.{module}, GET /api/v1/gigs/{{id}} (anonymous; opens its database connection)",
        "function_ms": fn,
        "hello_ms": hello,
        "ratio_total": ratio(fn["total_ms"], hello["total_ms"]),
        "ratio_import": ratio(fn["import_ms"], hello["import_ms"]),
        "heavy_imported_by": fn_runs[-1]["heavy_imported_by"],
        "runs": runs,
        "target_ratio": 1.5,
    }
