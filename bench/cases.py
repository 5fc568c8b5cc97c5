"""The cases ``bench.run`` drains: ours, bare taskiq, the floors, the peers and the prototypes.

Each case is a :class:`bench.common.Case`: how its workers start, on which broker, with which
task. ``QUICK`` is what ``--quick`` runs; ``LATENCY_CASES`` are swept at fixed rates.
"""

from __future__ import annotations

from bench.common import LEAN, Case

LEAN_RECEIVER = "taskiq_extras.receiver:LeanReceiver"


# --8<-- [start:cases]
CASES = [
    Case("sqlite", "ours", "sqlite", "ours: SQLiteBroker via build_broker, app middlewares",
         task="bench.noop_db"),
    Case("redis-stream", "ours", "redis",
         "ours: ReliableRedisStreamBroker via build_broker, app middlewares",
         task="bench.noop_db", needs=("redis",)),
    Case("rabbitmq", "ours", "rabbitmq", "ours: build_rabbitmq_broker via build_broker",
         task="bench.noop_db", needs=("rabbitmq",)),
    Case("taskiq-listqueue", "taskiq", "redis", "bare taskiq_redis.ListQueueBroker",
         {"BENCH_CASE": "listqueue"}, needs=("redis",)),
    Case("taskiq-stream", "taskiq", "redis", "bare taskiq_redis.RedisStreamBroker",
         {"BENCH_CASE": "stream"}, needs=("redis",)),
    Case("taskiq-aiopika", "taskiq", "rabbitmq", "bare AioPikaBroker (quorum queue, qos 10)",
         {"BENCH_CASE": "aiopika"}, needs=("rabbitmq",)),
    Case("taskiq-aiopika-classic", "taskiq", "rabbitmq",
         "bare AioPikaBroker (classic queue, qos 10)",
         {"BENCH_CASE": "aiopika-classic"}, needs=("rabbitmq",)),
    Case("inmemory", "inmemory", "none", "InMemoryBroker, in-process"),
    Case("layers-bare", "taskiq", "redis", "our Redis broker and LeanReceiver, no middleware",
         {"BENCH_CASE": "ours-bare"}, needs=("redis",), receiver=LEAN_RECEIVER),
    Case("layers-runs", "taskiq", "redis", "our Redis broker and LeanReceiver + TaskRunRecorder",
         {"BENCH_CASE": "ours-runs"}, needs=("redis",), receiver=LEAN_RECEIVER),
    Case("layers-runs-db", "taskiq", "redis",
         "our Redis broker and LeanReceiver + TaskRunRecorder + TaskiqDepends(get_db_session)",
         {"BENCH_CASE": "ours-runs"}, task="bench.noop_db", needs=("redis",),
         receiver=LEAN_RECEIVER),
    Case("floor-redis", "floor-redis", "redis", "raw redis-py LPUSH + BRPOP", needs=("redis",)),
    Case("floor-redis-async", "floor-redis-async", "redis",
         "raw redis-py LPUSH + BRPOP, asyncio client", needs=("redis",)),
    Case("floor-amqp", "floor-amqp", "rabbitmq",
         "raw aio-pika, persistent + confirms, acks, quorum queue, prefetch 100",
         needs=("rabbitmq",)),
    Case("celery", "celery", "redis", "Celery 5 on Redis, prefork -c 2, ignore_result",
         needs=("redis", "celery")),
    Case("huey-sqlite", "huey", "sqlite", "Huey SqliteHuey, 2 worker processes, -q",
         needs=("huey",)),
]  # fmt: skip
# What a no-op task pays for: our setup with parts switched off (bench-only).
PROTOTYPES = [
    Case("sqlite-no-results", "ours", "sqlite", "ours, results not stored",
         {"BENCH_NO_RESULTS": "1"}, task="bench.noop_db"),
    Case("sqlite-no-runs", "ours", "sqlite", "ours, TASKIQ_RUNS_ENABLED=false",
         {"TASKIQ_RUNS_ENABLED": "false"}, task="bench.noop_db"),
    Case("sqlite-no-session", "ours", "sqlite", "ours, a task without an injected session",
         task="bench.noop"),
    Case("sqlite-lean", "ours", "sqlite", "ours, no results, no run recorder, no session",
         LEAN, task="bench.noop"),
    Case("redis-stream-lean", "ours", "redis", "ours, xread_count=20, no results, no run recorder",
         {**LEAN, "BENCH_BATCH": "20"}, task="bench.noop_db", needs=("redis",)),
]  # fmt: skip
QUICK = (
    "sqlite",
    "redis-stream",
    "rabbitmq",
    "inmemory",
    "floor-redis",
    "taskiq-stream",
    "layers",
)  # layers: bench.layers, our layers priced in-process
LATENCY_CASES = ("sqlite", "redis-stream", "rabbitmq")
# --8<-- [end:cases]
