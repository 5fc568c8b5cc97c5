"""``ReadOnceFormatter``: our receiver parses each message once, and parses it as taskiq would.

On taskiq's default formatter (``ProxyFormatter`` over ``JSONSerializer``) it lets pydantic
parse the bytes in one step instead of ``json.loads`` and then pydantic. That must give the
same ``TaskiqMessage`` for every message taskiq writes, and refuse what taskiq's parser
refuses; a broker with another formatter keeps its own.
"""

from __future__ import annotations

import pytest
from taskiq import InMemoryBroker, TaskiqMessage
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.formatters.proxy_formatter import ProxyFormatter

from taskiq_extras.receiver import ReadOnceFormatter

MESSAGES = [
    TaskiqMessage(task_id="a1", task_name="bench.noop", labels={}, args=[], kwargs={}),
    TaskiqMessage(
        task_id="b2",
        task_name="reports.process_report",
        labels={"retry_on_error": "true", "max_retries": 3, "delay": 1.5},
        args=[1, "zoë ✓", None, True, 2.5, [1, [2, {"x": "y"}]]],
        kwargs={"user_id": 7, "options": {"nested": {"deep": [None, False]}}, "emoji": "🚀"},
    ),
]
MALFORMED = [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"task_id": 1}', b"", b'"text"']


def test_the_default_formatter_is_parsed_in_one_step():
    formatter = ReadOnceFormatter(InMemoryBroker().formatter)
    assert formatter._parse == TaskiqMessage.model_validate_json


@pytest.mark.parametrize("message", MESSAGES, ids=["empty", "nested-unicode"])
def test_it_reads_what_taskiq_writes_exactly_as_taskiq_reads_it(message):
    taskiq_formatter = InMemoryBroker().formatter
    assert isinstance(taskiq_formatter, ProxyFormatter)
    data = taskiq_formatter.dumps(message).message
    ours = ReadOnceFormatter(taskiq_formatter)

    read = ours.read(data)
    assert read == taskiq_formatter.loads(data) == message
    assert ours.loads(data) is read  # taskiq's own loads gets the message already parsed
    assert ours.loads(data) == message  # and only once: the next parse is a fresh one


@pytest.mark.parametrize("data", MALFORMED)
def test_it_refuses_what_taskiq_refuses(data):
    taskiq_formatter = InMemoryBroker().formatter
    with pytest.raises(ValueError):  # JSONDecodeError, UnicodeDecodeError, ValidationError
        taskiq_formatter.loads(data)
    with pytest.raises(ValueError):
        ReadOnceFormatter(taskiq_formatter).read(data)


class UpperFormatter(TaskiqFormatter):
    """Another wire format: the task name travels in upper case."""

    def __init__(self) -> None:
        self.inner = InMemoryBroker().formatter

    def dumps(self, message):
        return self.inner.dumps(message.model_copy(update={"task_name": message.task_name.upper()}))

    def loads(self, message: bytes) -> TaskiqMessage:
        parsed = self.inner.loads(message)
        return parsed.model_copy(update={"task_name": parsed.task_name.lower()})


def test_another_formatter_parses_as_it_does():
    formatter = UpperFormatter()
    data = formatter.dumps(MESSAGES[1]).message
    assert b"REPORTS.PROCESS_REPORT" in data
    assert ReadOnceFormatter(formatter).read(data).task_name == "reports.process_report"
