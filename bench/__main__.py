"""Runs the benchmarks: `python -m bench [name ...] [--scale small|full] [--regenerate]`.

Names: gigs, messages, overhead, throughput, coldstart (default: all). Prints one JSON document on
stdout, a short table on stderr, and keeps the JSON in bench/out/<scale>.json. Every figure that has
a target is a ratio or a percentile measured against a baseline in the same process and run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAMES = ("gigs", "messages", "overhead", "throughput", "coldstart")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem[1].split()[1] if len(mem) > 1 else "unknown",
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    b = {k: v for k, v in results["benchmarks"].items() if "error" not in v}
    if "gigs" in b:
        g = b["gigs"]
        rows += [
            ("getGigs p50 / p95 (anon)", f"{g['anon']['p50_ms']} / {g['anon']['p95_ms']} ms", "p95 < 15 ms"),
            ("getGigs RLS ratio anon / user (p50)", f"{g['rls_ratio_anon_p50']} / {g['rls_ratio_user_p50']}", "< 1.2"),
        ]
    if "messages" in b:
        m = b["messages"]
        rows += [
            ("history page 2000 / page 1 (p50)", str(m["deep_over_first_ratio_p50"]), "< 1.2"),
            ("getConversations p95 (1,000 convs)", f"{m['get_conversations']['p95_ms']} ms", "< 25 ms"),
        ]
    if "overhead" in b:
        rows.append(("GET /gigs/{id} stack / bare tx (p50)", str(b["overhead"]["ratio_p50"]), "< 3"))
    if "throughput" in b:
        t = b["throughput"]
        for route in ("getGig", "getGigs"):
            rows.append(
                (
                    f"{route} req/s function / baseline",
                    f"{t[route]['function_rps']} / {t[route]['baseline_rps']} = {t[route]['ratio_function']}",
                    ">= 0.75" if route == "getGig" else "-",
                )
            )
            rows.append(
                (
                    f"{route} req/s app / baseline",
                    f"{t[route]['app_rps']} / {t[route]['baseline_rps']} = {t[route]['ratio']}",
                    ">= 0.75" if route == "getGig" else "-",
                )
            )
    if "coldstart" in b:
        c = b["coldstart"]
        rows.append(
            (
                "cold start function / hello",
                f"{c['function_ms']['total_ms']} / {c['hello_ms']['total_ms']} ms = {c['ratio_total']}",
                "< 1.5",
            )
        )
    width = max(len(r[0]) for r in rows) if rows else 10
    return "\n".join(f"{a:<{width}}  {v:<34}  {t}" for a, v, t in rows)


async def _async_part(names: list[str], url: str, scale: str, results: dict[str, Any]) -> None:
    from bench import gigs, messages, overhead
    from bench.common import log
    from bench.session import bench_user
    from shared.config import get_settings

    rounds = 30 if scale == "small" else 40
    jobs: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "gigs": lambda: gigs.run(url, rounds),
        "messages": lambda: messages.run(url, rounds * 5),
        "overhead": lambda: overhead.run(url, 2000, bench_user(get_settings(), url)),
    }
    for name, job in jobs.items():
        if name in names:
            log(f"{name} ...")
            try:
                results[name] = await job()
            except Exception as exc:  # one broken benchmark must not lose the others' figures
                log(f"  {name} failed: {exc!r}")
                results[name] = {"error": repr(exc)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", metavar="name", help=", ".join(NAMES) + " (default: all)")
    parser.add_argument("--scale", choices=("small", "full"), default=os.environ.get("UGIG_BENCH_SCALE", "small"))
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data set even if it is current")
    args = parser.parse_args()
    names = args.names or list(NAMES)
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")

    from bench.common import ensure_dataset, log, start_cluster

    cluster = start_cluster()
    url, dataset = ensure_dataset(cluster, args.scale, regenerate=args.regenerate)
    from bench.generate import SCALES
    from bench.session import set_scale_users

    set_scale_users(SCALES[args.scale].users)
    # Settings are read once per process: point this process (and its children) at the bench database.
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LOG_LEVEL", "INFO")
    from shared.config import get_settings

    get_settings.cache_clear()
    started = time.perf_counter()
    bench_results: dict[str, Any] = {}
    asyncio.run(_async_part(names, url, args.scale, bench_results))
    if "throughput" in names:
        from bench import throughput
        from bench.session import bench_user

        log("throughput ...")
        try:
            bench_results["throughput"] = throughput.run(url, bench_user(get_settings(), url), 3000, 3)
        except Exception as exc:
            log(f"  throughput failed: {exc!r}")
            bench_results["throughput"] = {"error": repr(exc)}
    if "coldstart" in names:
        from bench import coldstart

        log("cold start ...")
        try:
            bench_results["coldstart"] = coldstart.run(url, 7)
        except Exception as exc:
            log(f"  cold start failed: {exc!r}")
            bench_results["coldstart"] = {"error": repr(exc)}
    results = {
        "scale": args.scale,
        "machine": machine(),
        "dataset": {k: dataset[k] for k in ("rows", "generate_seconds") if k in dataset},
        "benchmarks": bench_results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"{args.scale}.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    log(table(results))


if __name__ == "__main__":
    main()
