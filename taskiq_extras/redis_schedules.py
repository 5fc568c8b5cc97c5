"""Extras: taskiq-redis's ``ListRedisScheduleSource`` that can also list every schedule it keeps.

Stock ``get_schedules`` returns what is due this minute (cron, intervals and this minute's
one-off times), which is all a scheduler needs; an API that lists and cancels schedules needs
them all. ``all_schedules`` reads every schedule's data key under the source's prefix.
"""

from __future__ import annotations

from redis.asyncio import Redis
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq_redis import ListRedisScheduleSource


class ListingRedisScheduleSource(ListRedisScheduleSource):
    async def all_schedules(self) -> list[ScheduledTask]:
        async with Redis(connection_pool=self._connection_pool) as redis:
            pattern = f"{self._prefix}:data:*"
            keys = [key async for key in redis.scan_iter(match=pattern, count=500)]
            bodies = await redis.mget(keys) if keys else []
        return [
            ScheduledTask.model_validate(self._serializer.loadb(body)) for body in bodies if body
        ]
