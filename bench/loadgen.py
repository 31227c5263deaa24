"""A small HTTP/1.1 keep-alive load generator (its own process, loopback only, bounded by a request
count and a time limit). Prints one JSON line: requests, seconds, req/s, status counts.

    python -m bench.loadgen --port 8000 --path /api/v1/gigs/<id> --requests 5000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter


async def worker(
    port: int, requests: list[bytes], counter: list[int], limit: int, deadline: float, statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while counter[0] < limit and time.perf_counter() < deadline:
            n = counter[0]
            counter[0] += 1
            writer.write(requests[n % len(requests)])
            await writer.drain()
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            statuses[status] += 1
    finally:
        writer.close()


def build_requests(paths: list[str], token: str | None, spread: int) -> list[bytes]:
    out = []
    for i in range(max(spread, len(paths))):
        path = paths[i % len(paths)]
        # Loopback peers are trusted proxies: X-Forwarded-For spreads the per-IP limiter's buckets the
        # way distinct real clients would, so the limiter does its work without refusing the load.
        lines = [
            f"GET {path} HTTP/1.1",
            "Host: 127.0.0.1",
            f"X-Forwarded-For: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        ]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    return out


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    requests = build_requests(args.path, args.token, args.spread)
    counter = [0]
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    deadline = started + args.max_seconds
    await asyncio.gather(
        *(worker(args.port, requests, counter, args.requests, deadline, statuses) for _ in range(args.concurrency))
    )
    elapsed = time.perf_counter() - started
    done = sum(statuses.values())
    return {
        "requests": done,
        "seconds": round(elapsed, 3),
        "rps": round(done / elapsed, 1),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--token")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--spread", type=int, default=2000)
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
