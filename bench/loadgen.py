"""A small load generator on loopback: ``count`` POSTs, ``concurrency`` at a time.

    python -m bench.loadgen <base_url> <path> [--count 1000] [--concurrency 4]

Runs in its own process (so it does not share a CPU loop with the server). Prints JSON with
p50/p99 latency in ms and the requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(base_url: str, path: str, count: int, concurrency: int, limit: float) -> dict:
    latencies: list[float] = []
    errors = 0
    body = {"title": "bench", "values": [1.0, 2.0, 3.0]}
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for _ in range(20):  # warm-up: connections, first-time imports, caches
            await client.post(path, json=body)

        async def user(share: int) -> None:
            nonlocal errors
            for _ in range(share):
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 400

        started = time.perf_counter()
        await asyncio.gather(*(user(count // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "path": path,
        "requests": len(latencies),
        "errors": errors,
        "concurrency": concurrency,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
        "requests_per_s": len(latencies) / elapsed,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("path")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60)
    args = parser.parse_args()
    result = asyncio.run(
        run(args.base_url, args.path, args.count, args.concurrency, args.time_limit)
    )
    print(json.dumps(result))
