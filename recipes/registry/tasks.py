"""Two tasks from two teams, recorded in the registry right where they are defined."""

from __future__ import annotations

from reference_app.infrastructure.taskiq import email_broker, register_task


# --8<-- [start:tasks]
@email_broker.task(task_name="registry.resize_avatar", team="media")
async def resize_avatar(user_id: int, size: int = 96) -> str:
    return f"avatars/{user_id}-{size}.png"


register_task("registry.resize_avatar", "email_broker", resize_avatar)


@email_broker.task(task_name="registry.purge_sessions", team="auth", timeout=30)
async def purge_sessions(older_than_days: int = 30) -> int:
    return 0  # a real task would delete rows and return how many


register_task("registry.purge_sessions", "email_broker", purge_sessions)
# --8<-- [end:tasks]
