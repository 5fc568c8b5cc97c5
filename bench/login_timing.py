"""Login latency for a known and an unknown address, in this process (httpx's ASGI transport).

    python -m bench.login_timing              # 50 logins each
    python -m bench.login_timing --count 200

Both get a 401 (the known account is sent a wrong password). An unknown address is checked
against a dummy hash, so both should take one scrypt: about as long as each other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

ADDRESSES = {"known": "known@example.com", "unknown": "nobody@example.com"}


async def measure(count: int, work: Path) -> dict[str, list[float]]:
    os.environ.update({
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'app.db'}",
        "MAIL_CATCHER_PATH": str(work / "mail.db"),
        "TASKIQ_ENABLED": "false", "DEV_MODE": "true",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": str(10 * count),  # measure logins, not 429s
        "LOGIN_RATE_LIMIT_PER_CLIENT": str(10 * count),
    })  # fmt: skip
    import httpx

    from reference_app.main import create_app
    from reference_app.modules.users import service
    from reference_app.modules.users.security import hash_password

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    timings: dict[str, list[float]] = {name: [] for name in ADDRESSES}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as http,
    ):
        async with app.state.sessionmaker() as db:
            await service.create(db, email=ADDRESSES["known"], name="Known",
                                 password_hash=hash_password("the right password"))  # fmt: skip
        await http.post("/users/login", json={"email": "warm@example.com", "password": "x"})
        for _ in range(count):
            for name, email in ADDRESSES.items():  # in turn: drift on the machine hits both
                wrong = {"email": email, "password": "a wrong password"}
                started = time.perf_counter()
                answer = await http.post("/users/login", json=wrong)
                timings[name].append((time.perf_counter() - started) * 1000)
                if answer.status_code != 401:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="logins per address")
    count = parser.parse_args().count
    with tempfile.TemporaryDirectory() as work:
        timings = asyncio.run(measure(count, Path(work)))
    print(f"POST /users/login, {count} each, 401 (ms)   median     p90")
    for name, ms in timings.items():
        p90 = statistics.quantiles(ms, n=10)[-1]
        print(f"  {name + ' address':<36}{statistics.median(ms):>8.1f}{p90:>8.1f}")


if __name__ == "__main__":
    main()
