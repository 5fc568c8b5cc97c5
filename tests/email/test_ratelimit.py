"""The email routes' rate limit: per address and per client, a sliding window, bounded."""

from __future__ import annotations

from reference_app.infrastructure import ratelimit
from reference_app.infrastructure.ratelimit import SlidingWindowLimiter
from tests.support.brokers import BrokerEnv
from tests.support.processes import free_port


def test_the_window_slides_and_memory_stays_bounded(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = SlidingWindowLimiter()
    assert [limiter.retry_after("a", 3, 60) for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("a", 3, 60) == 60  # the oldest hit frees up in 60 s
    clock[0] += 30
    assert limiter.retry_after("a", 3, 60) == 30
    clock[0] += 31
    assert limiter.retry_after("a", 3, 60) is None  # the first hits left the window
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 100)
    for n in range(1000):
        limiter.retry_after(f"k{n}", 3, 60)
    assert len(limiter._hits) == 100


def test_the_sixth_reset_request_for_one_address_gets_429(tmp_path, start_api):
    api = start_api(BrokerEnv("sqlite", tmp_path), TASKIQ_ENABLED="false",
                    SMTP_PORT=free_port(), EMAIL_RATE_LIMIT_PER_ADDRESS=5)  # fmt: skip
    with api.client() as client:
        codes = [
            client.post("/users/password-reset", json={"email": "a@example.com"}).status_code
            for _ in range(6)
        ]
        other = client.post("/users/password-reset", json={"email": "b@example.com"})
        limited = client.post("/users/password-reset", json={"email": "A@example.com"})
    assert codes == [202] * 5 + [429]
    assert other.status_code == 202  # another address is counted apart
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
