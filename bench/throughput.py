"""(4) Throughput: the composed app under uvicorn against the bare ASGI baseline (bench.baseline_app)
running the same SQL, both served by the same uvicorn settings, loaded by bench.loadgen in its own
process on 127.0.0.1. Rounds alternate between the two servers; the figure per server is the median."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.common import active_gig, free_tcp_port, log, ratio
from bench.session import BenchUser
from devtools.paths import PROJECT_ROOT

CONCURRENCY = 32


def _serve(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            "1",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the app's own JSON access log: written (a real cost), not kept
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(port: int, path: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer {path}")


def _load(port: int, path: str, token: str, requests: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(port),
            "--path",
            path,
            "--token",
            token,
            "--requests",
            str(requests),
            "--concurrency",
            str(CONCURRENCY),
            "--max-seconds",
            "60",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(url: str, user: BenchUser, requests: int, rounds: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UGIG_ENV": "local",
        "LOG_LEVEL": "INFO",
        "BENCH_CLAIMS": json.dumps(user.claims, separators=(",", ":")),
        "BENCH_SESSION": user.claims["session_id"],
        "BENCH_USER": user.claims["sub"],
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    # "app": the composed app (every router: what `ugig dev` serves); "function": the gigs Lambda's
    # own app (only its routes: what production runs for these two routes).
    targets = {"app": "functions.app:app", "function": "functions.gigs:app", "baseline": "bench.baseline_app:app"}
    ports = {name: free_tcp_port() for name in targets}
    servers = {name: _serve(target, ports[name], env) for name, target in targets.items()}
    token = user.token
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"getGig": f"/api/v1/gigs/{active_gig(url)}", "getGigs": "/api/v1/gigs"}
    results: dict[str, Any] = {}
    try:
        for port in ports.values():
            _wait_ready(port, paths["getGig"], headers)
        for route, path in paths.items():
            rps: dict[str, list[float]] = {name: [] for name in targets}
            statuses: dict[str, dict[str, int]] = {}
            for port in ports.values():
                _load(port, path, token, max(200, requests // 10))  # warm-up: pool filled, code paths hot
            for _ in range(rounds):
                for name, port in ports.items():
                    r = _load(port, path, token, requests)
                    rps[name].append(r["rps"])
                    statuses[name] = r["statuses"]
            app_rps, base_rps = statistics.median(rps["app"]), statistics.median(rps["baseline"])
            function_rps = statistics.median(rps["function"])
            results[route] = {
                "app_rps": app_rps,
                "function_rps": function_rps,
                "baseline_rps": base_rps,
                "ratio": ratio(app_rps, base_rps),
                "ratio_function": ratio(function_rps, base_rps),
                "rounds": rps,
                "statuses": statuses,
            }
            log(f"  throughput {route}: app {app_rps}, function {function_rps}, baseline {base_rps} req/s")
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=10)
    return {
        **results,
        "concurrency": CONCURRENCY,
        "requests_per_round": requests,
        "server": "uvicorn, 1 worker, same flags for both",
        "target_ratio_getGig": 0.75,
    }
