"""The deployment files in deploy/ name only real settings, real modules and real files.

Docker does not run here (nor in CI), so these tests read the files instead of starting them:
the compose file, the Dockerfile and the systemd unit must stay in step with the code.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from reference_app.infrastructure.config import Settings
from reference_app.modules.email.settings import EmailSettings
from reference_app.settings import SETTINGS_CLASSES

KNOWN = {name for cls in SETTINGS_CLASSES for name in cls.model_fields}

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
SYSTEMD_UNIT = DEPLOY / "systemd" / "taskiq-worker.service"
APP_PREFIXES = ("TASKIQ_", "DATABASE_", "SMTP_")
APP_SERVICES = ("api", "worker", "worker-slow", "scheduler")  # and migrate, run once
# Console scripts a command may start with, and the module that provides each.
SCRIPTS = {"uvicorn": "uvicorn"}
SUBSTITUTION = re.compile(r"\$\{(\w+)(?::?-([^}]*)|:\?([^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "NAME=value" form
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def with_defaults(env: dict[str, str]) -> dict[str, str]:
    """Values as compose would use them with nothing set: ``${X:-default}`` -> ``default``."""
    resolved = {}
    for name, value in env.items():
        match = SUBSTITUTION.fullmatch(value)
        if match is None:
            resolved[name] = value
        elif match.group(2) is not None:
            resolved[name] = match.group(2)
        elif match.group(3) is not None:  # required: compose stops until it is set
            resolved[name] = f"a-value-the-operator-set-for-{match.group(1)}"
    return resolved


def test_the_compose_file_has_no_default_secrets():
    """A secret with a default in the compose file is a secret everyone who read it knows."""
    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if any(word in key for word in ("SECRET", "PASSWORD", "TOKEN")) and "${" in value:
                assert ":-" not in value or value.endswith(":-}"), f"{name}: {key}={value}"


def imported_names(argv: list[str]) -> list[str]:
    """The modules (and ``module:attribute`` targets) a command would import."""
    program = Path(argv[0]).name
    if program.startswith("python"):
        assert "-m" in argv, f"{argv}: run a module with -m, not a path"
        names = [argv[argv.index("-m") + 1]]
    else:
        assert program in SCRIPTS, f"{argv}: unknown program {program!r}"
        names = [SCRIPTS[program]]
    names += [arg for arg in argv[1:] if re.fullmatch(r"[\w.]+:\w+", arg)]
    return names


def assert_importable(argv: list[str]) -> None:
    for name in imported_names(argv):
        module, _, attribute = name.partition(":")
        assert importlib.util.find_spec(module) is not None, f"{argv}: no module {module!r}"
        if attribute:
            target = getattr(importlib.import_module(module), attribute, None)
            assert callable(target), f"{argv}: {module} has no {attribute!r}"


def test_the_compose_file_sets_only_real_settings():
    services = compose()["services"]
    for name, service in services.items():
        env = environment(service)
        ours = [key for key in env if key.startswith(APP_PREFIXES)]
        if name in APP_SERVICES:
            ours = list(env)  # our services get nothing but the app's settings
        unknown = [key for key in ours if key not in KNOWN]
        assert unknown == [], f"service {name!r} sets variables Settings does not have"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_compose_settings_are_valid_and_point_at_its_services(name):
    services = compose()["services"]
    env = with_defaults(environment(services[name]))
    settings = Settings(_env_file=None, **env)  # raises if a value fails validation
    assert settings.TASKIQ_BROKER_TYPE == "redis"
    smtp_host = EmailSettings(_env_file=None, **env).SMTP_HOST
    for host in (settings.TASKIQ_REDIS_HOST, settings.TASKIQ_RABBITMQ_HOST, smtp_host):
        assert host in services, f"{host!r} is not a service of the compose file"
    assert settings.DATABASE_URL.startswith("postgresql+asyncpg://cookbook:${POSTGRES_PASSWORD")
    assert settings.DATABASE_URL.endswith("@postgres:5432/cookbook") and "postgres" in services
    # Nothing starts before the schema is migrated, by the app's own migration command.
    assert services[name]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["migrate"]["command"] == ["python", "-m", "reference_app.migrate"]


def test_the_compose_commands_name_importable_modules():
    services = compose()["services"]
    for name in APP_SERVICES:
        assert_importable(services[name]["command"])
    assert "reference_app.infrastructure.taskiq.run_worker" in services["worker"]["command"]


def test_the_worker_is_given_time_to_finish_its_tasks_on_stop():
    worker = compose()["services"]["worker"]
    grace = int(worker["stop_grace_period"].removesuffix("s"))
    env = with_defaults(environment(worker))
    settings = Settings(_env_file=None, **env)
    assert grace > settings.TASKIQ_WAIT_TASKS_TIMEOUT + settings.TASKIQ_SHUTDOWN_TIMEOUT


def test_the_compose_file_builds_with_the_dockerfile():
    build = compose()["services"]["api"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_installs_the_project_and_runs_real_modules():
    instructions = dockerfile_instructions()
    assert ("FROM", "python:3.11-slim") in instructions
    assert any(kind == "RUN" and "pip install ." in args for kind, args in instructions)
    for kind, args in instructions:
        if kind == "COPY":
            *sources, _ = args.split()
            missing = [source for source in sources if not (ROOT / source).exists()]
            assert missing == [], f"COPY of files that do not exist: {missing}"
    commands = [json.loads(args) for kind, args in instructions if kind in ("CMD", "ENTRYPOINT")]
    assert commands, "the Dockerfile has no CMD"
    for argv in commands:
        assert_importable(argv)


def test_the_systemd_unit_runs_the_launcher_with_real_settings():
    lines = [line.strip() for line in SYSTEMD_UNIT.read_text().splitlines()]
    exec_start = [line.partition("=")[2] for line in lines if line.startswith("ExecStart=")]
    assert len(exec_start) == 1
    argv = shlex.split(exec_start[0])
    assert_importable(argv)
    assert argv[-1] == "reference_app.infrastructure.taskiq.run_worker"
    names = [line.partition("=")[2].partition("=")[0] for line in lines
             if line.startswith("Environment=")]  # fmt: skip
    assert names and all(name in KNOWN for name in names)
    stop = next(line for line in lines if line.startswith("TimeoutStopSec="))
    defaults = Settings(_env_file=None)
    wait = defaults.TASKIQ_WAIT_TASKS_TIMEOUT + defaults.TASKIQ_SHUTDOWN_TIMEOUT
    assert int(stop.partition("=")[2]) > wait


def test_the_scheduler_runs_beside_the_workers_with_the_same_settings():
    services = compose()["services"]
    assert services["scheduler"]["command"][-1] == (
        "reference_app.infrastructure.taskiq.run_scheduler"
    )
    unit = (SYSTEMD_UNIT.parent / "taskiq-scheduler.service").read_text()
    exec_start = [line.partition("=")[2] for line in unit.splitlines()
                  if line.startswith("ExecStart=")]  # fmt: skip
    argv = shlex.split(exec_start[0])
    assert_importable(argv)
    assert argv[-1] == "reference_app.infrastructure.taskiq.run_scheduler"
    assert "EnvironmentFile=/etc/taskiq-cookbook/env" in unit  # the worker's settings
