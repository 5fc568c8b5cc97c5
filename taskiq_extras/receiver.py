"""Extras: a taskiq ``Receiver`` that never drops a message it cannot run.

taskiq's own receiver logs a warning and acknowledges (deletes) a message that is not valid
JSON or names an unknown task; and when an argument does not match the task's type hints it
logs a warning and calls the task with the raw value anyway, which then fails somewhere deep
inside (``'dict' object has no attribute 'lines'``). Ours checks all three before running
anything and moves such a *poison* message to the broker's dead letters, with the reason, so
it can be inspected and replayed once fixed. For bad arguments it also stores the error as
the task's result, so a caller waiting on it learns why at once.
The worker launcher selects it with ``--receiver``.

Its loop is leaner than taskiq's too (``LeanReceiver``, measured in ``bench.layers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import TypeAdapter, ValidationError
from taskiq import AckableMessage, BrokerMessage, TaskiqMessage, TaskiqMiddleware, TaskiqResult
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.formatters.proxy_formatter import ProxyFormatter
from taskiq.receiver import Receiver
from taskiq.serializers import JSONSerializer
from taskiq.utils import maybe_awaitable
from taskiq_dependencies.dependency import Dependency

from .middlewares import TaskArgumentError


class UnknownTaskError(LookupError):
    """No module the worker imported defines the message's task."""


logger = logging.getLogger(__name__)


def _is_dependency(parameter: inspect.Parameter, hint: Any) -> bool:
    if isinstance(parameter.default, Dependency):
        return True
    return get_origin(hint) is Annotated and any(
        isinstance(extra, Dependency) for extra in get_args(hint)[1:]
    )


@cache
def _checked_parameters(function: Any) -> tuple[inspect.Signature, dict[str, TypeAdapter]]:
    """The task's signature without injected dependencies, and a validator per parameter."""
    hints = get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    parameters, adapters = [], {}
    for parameter in signature.parameters.values():
        hint = hints.get(parameter.name)
        if _is_dependency(parameter, hint):
            continue
        parameters.append(parameter)
        plain_kind = parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        if hint is not None and plain_kind:
            adapters[parameter.name] = TypeAdapter(hint)
    return signature.replace(parameters=parameters), adapters


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors()
    )


def check_arguments(function: Any, message: TaskiqMessage) -> str | None:
    """Why the message's arguments cannot call ``function``, or None if they can."""
    signature, adapters = _checked_parameters(function)
    try:
        bound = signature.bind(*message.args, **message.kwargs)
    except TypeError as exc:
        return f"arguments do not fit task {message.task_name!r}: {exc}"
    for name, value in bound.arguments.items():
        adapter = adapters.get(name)
        if adapter is None or value is None:
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            return f"argument {name!r} of task {message.task_name!r} is invalid: {_short(exc)}"
    return None


def _parser(formatter: TaskiqFormatter) -> Callable[[bytes], TaskiqMessage]:
    """How to parse a message: taskiq's default formatter (``json.loads``, then pydantic on the
    dict) gives the same ``TaskiqMessage`` as pydantic parsing the bytes in one step, which
    takes 40 % of the time; any other formatter parses as it does."""
    if type(formatter) is ProxyFormatter and type(formatter.broker.serializer) is JSONSerializer:
        return TaskiqMessage.model_validate_json
    return formatter.loads


class ReadOnceFormatter(TaskiqFormatter):
    """The broker's formatter, handing taskiq the message our check has just parsed.

    Our receiver parses each message to check it, then taskiq's parses it again: two JSON
    parses and two pydantic validations per task. This wrapper keeps the one message parsed
    last and gives it out once, to the next ``loads`` of the same bytes (no ``await`` lies
    between the two calls); anything else is parsed as usual.
    """

    def __init__(self, formatter: TaskiqFormatter) -> None:
        self.formatter = formatter
        self._last: tuple[bytes, TaskiqMessage] | None = None
        self._parse = _parser(formatter)

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        return self.formatter.dumps(message)

    def loads(self, message: bytes) -> TaskiqMessage:
        last, self._last = self._last, None
        if last is not None and last[0] == message:
            return last[1]
        return self.formatter.loads(message=message)

    def read(self, message: bytes) -> TaskiqMessage:
        """Parse ``message`` and keep it for the next ``loads``."""
        parsed = self._parse(message)
        self._last = (message, parsed)
        return parsed


# --8<-- [start:lean_receiver]
class LeanReceiver(Receiver):
    """taskiq's ``Receiver`` with a plainer loop: the same tasks run, with less asyncio per task.

    taskiq 0.13's loop hands each message from a prefetcher to a runner through a queue, and
    races every semaphore acquire and every read against the shutdown event with
    ``asyncio.wait``: three asyncio tasks and two waits per message. Here one fetching task
    takes a free slot, awaits the broker's next message and starts its run, and a shutdown
    cancels that one task where it waits. A message the broker has handed over is always
    started (nothing is awaited between the two), as in taskiq; then, as there, the running
    tasks get ``wait_tasks_timeout`` to finish. With ``max_prefetch`` > 0 or no concurrency
    limit it falls back to taskiq's loop.
    """

    def __init__(self, broker: Any, *args: Any, max_prefetch: int = 0, **kwargs: Any) -> None:
        super().__init__(broker, *args, max_prefetch=max_prefetch, **kwargs)
        self._lean = max_prefetch == 0 and self.sem is not None

    async def listen(self, finish_event: asyncio.Event) -> None:
        if not self._lean:
            await super().listen(finish_event)
            return
        if self.run_startup:
            await self.broker.startup()
        logger.info("Listening started.")
        running: set[asyncio.Task[Any]] = set()
        fetching = asyncio.create_task(self._fetch(running))
        stopping = asyncio.create_task(finish_event.wait())
        try:
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            fetching.cancel()  # a no-op if it is done (max tasks per worker reached)
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await fetching  # a broker error raises here, as in taskiq...
            finally:  # ...once the tasks already started have had their time
                if running:
                    logger.info("Waiting for %d running tasks to complete...", len(running))
                    await asyncio.wait(running, timeout=self.wait_tasks_timeout)
        if self.on_exit is not None:
            self.on_exit(self)

    async def _fetch(self, running: set[asyncio.Task[Any]]) -> None:
        assert self.sem is not None
        slots, limit = self.sem, self.max_tasks_to_execute
        messages = self.broker.listen()
        fetched = 0
        try:
            while not limit or fetched < limit:
                await slots.acquire()  # waits only while every slot runs a task
                try:
                    message = await anext(messages)
                except BaseException:
                    slots.release()
                    raise
                fetched += 1
                task = asyncio.create_task(self.callback(message=message, raise_err=False))
                running.add(task)
                task.add_done_callback(lambda done: (running.discard(done), slots.release()))
            logger.info("Max number of tasks executed.")
        except StopAsyncIteration:
            pass
        finally:
            with contextlib.suppress(Exception):
                await messages.aclose()


# --8<-- [end:lean_receiver]


class DeadLetteringReceiver(LeanReceiver):
    def __init__(self, broker: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(broker, *args, **kwargs)
        if not isinstance(broker.formatter, ReadOnceFormatter):
            broker.formatter = ReadOnceFormatter(broker.formatter)

    def _poison_reason(self, data: bytes) -> tuple[str | None, TaskiqMessage | None]:
        """Why the message cannot run (None if it can), and the message if it was readable."""
        try:
            message = self.broker.formatter.read(data)
        except Exception as exc:
            return f"malformed message ({type(exc).__name__}: {str(exc)[:300]})", None
        task = self.broker.find_task(message.task_name)
        if task is None:
            return (
                f"unknown task {message.task_name!r} (task id {message.task_id}): no module "
                "the worker imported defines it. Is its tasks module imported by the worker "
                "entry, or passed to `taskiq worker`?"
            ), message
        if self.validate_params:
            problem = check_arguments(task.original_func, message)
            if problem is not None:
                return problem, message
        return None, None

    async def _run(self, message: bytes | AckableMessage, raise_err: bool) -> None:
        """taskiq's callback; if it breaks before the ack, the message goes back."""
        if not isinstance(message, AckableMessage):
            await super().callback(message, raise_err=raise_err)
            return
        acked = False
        original_ack = message.ack

        async def ack() -> None:
            nonlocal acked
            await maybe_awaitable(original_ack())
            acked = True

        try:
            # raise_err=True: a result that cannot be stored raises here instead of being
            # logged and acknowledged (taskiq's default), so the message runs again.
            await super().callback(AckableMessage(data=message.data, ack=ack), raise_err=True)
        except Exception:
            logger.exception(
                "A run failed outside its task function (its result could not be stored, or "
                "its database session could not commit); the message goes back for another try"
            )
            nack = getattr(message, "nack", None)
            if not acked and nack is not None:
                await maybe_awaitable(nack())

    async def _store_error(self, message: TaskiqMessage, problem: str) -> None:
        """Tell whoever waits for the result, and every middleware that records runs (so a
        task no worker knows shows as failed with its reason, never as queued forever)."""
        known = self.broker.find_task(message.task_name) is not None
        error = TaskArgumentError(problem) if known else UnknownTaskError(problem)
        result: TaskiqResult[Any] = TaskiqResult(
            is_err=True, return_value=None, execution_time=0, error=error, labels=message.labels
        )
        try:
            await self.broker.result_backend.set_result(message.task_id, result)
        except Exception:
            logger.exception("Could not store the error of task %s", message.task_id)
        for middleware in self.broker.middlewares:
            if type(middleware).post_execute is not TaskiqMiddleware.post_execute:
                with contextlib.suppress(Exception):
                    await maybe_awaitable(middleware.post_execute(message, result))

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        data = message.data if isinstance(message, AckableMessage) else message
        reason, readable = self._poison_reason(data)
        if reason is None:
            await self._run(message, raise_err)
            return
        logger.error("Cannot run a message from the queue: %s", reason)
        dead_letter = getattr(self.broker, "dead_letter", None)
        if dead_letter is not None:
            await dead_letter(data, reason)
        if isinstance(message, AckableMessage):
            await maybe_awaitable(message.ack())
        if readable is not None:  # bad arguments, unknown task: say so to whoever waits
            await self._store_error(readable, reason)
