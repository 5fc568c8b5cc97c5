"""Extras: what this project adds beyond stock taskiq, as one package you may copy whole.

Nothing here imports the reference app; modules import each other relatively, and each
broker's client library is imported only by the module that uses it. The pieces:

| module            | what it adds                                                          |
|-------------------|-----------------------------------------------------------------------|
| sqlite_broker     | the embedded broker and its result backend: one SQLite file, no server |
| redis_broker      | taskiq-redis's stream broker, bounded, with dead letters and reclaim  |
| rabbitmq_broker   | taskiq-aio-pika's broker with a dead-letter queue the app can read    |
| result_backend    | results as JSON in an SQL database (RabbitMQ has no result store)     |
| receiver          | a receiver that dead-letters what it cannot run, never crash-loops    |
| dead_letters      | list and replay dead letters on any of the three brokers              |
| runs              | a middleware recording every task run in the app's database           |
| middlewares       | refuse non-JSON arguments at ``.kiq()`` with the argument's name      |
| task_ids          | time-ordered task ids (UUIDv7)                                        |
| health            | enqueue that fails fast when the broker is down; broker probe         |
| worker_hooks      | SIGTERM heard at once; taskiq-fastapi's Request without graph rebuilds |
| processes         | worker processes for the length of a ``with`` block                   |
| dashboard         | taskiq-dashboard's middleware, with two fixes                         |
| setup             | ``add_extras(broker, settings)``: what ``TASKIQ_EXTRAS=true`` turns on |

The docs page "Beyond stock Taskiq" gives, for each, the stock behaviour and the proof.
"""
