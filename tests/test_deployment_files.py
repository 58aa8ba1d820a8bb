"""The deployment files agree with the code and the lock file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.airflow_env import OUTREACH, PROJECT
from tests.factories import PRODUCTION_SETTINGS


def compose_command() -> list[str]:
    """``docker compose`` (v2) where the plugin is installed, else the standalone ``docker-compose``."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    if os.environ.get("CI"):
        pytest.fail("neither `docker compose` nor `docker-compose` is installed; .ci/run installs the latter")
    pytest.skip("no compose CLI on this machine (CI installs one)")


def test_compose_validates_with_the_documented_environment():
    compose = compose_command()
    result = subprocess.run(
        [*compose, "--env-file", ".env.example", "config", "-q"], cwd=PROJECT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for profile in ("celery", "sandbox"):
        result = subprocess.run(
            [*compose, "--env-file", ".env.example", "--profile", profile, "config", "-q"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_its_secrets(tmp_path):
    compose = compose_command()
    env = {k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET"}}
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [*compose, "--env-file", str(empty), "config", "-q"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_compose_services_have_health_checks_and_no_committed_secrets():
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    } <= set(services)
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no health check"
    text = (PROJECT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${AIRFLOW_JWT_SECRET:?" in text


def test_the_image_holds_the_campaign_and_segment_files_where_the_services_look_for_them():
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    environment = compose["x-airflow"]["environment"]
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert f"COPY --chown=airflow:root campaigns {environment['OUTREACH_CAMPAIGNS_DIR']}" in dockerfile
    assert f"COPY --chown=airflow:root segments.yaml {environment['OUTREACH_SEGMENTS_FILE']}" in dockerfile
    assert f"COPY --chown=airflow:root agencies.yaml {environment['OUTREACH_AGENCIES_FILE']}" in dockerfile


def test_production_requirements_match_the_lock_file():
    uv = PROJECT / ".tools" / "bin" / "uv"
    exported = subprocess.run(
        [
            str(uv),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--format",
            "requirements-txt",
            "-o",
            "/dev/stdout",
            "--quiet",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = lambda text: sorted(line for line in text.splitlines() if "==" in line and not line.startswith("#"))  # noqa: E731
    assert pins(exported) == pins((PROJECT / "requirements" / "production.txt").read_text()), (
        "requirements/production.txt is stale: re-export it from uv.lock (see its header)"
    )


def init_service_environment(env_file: Path, home: Path) -> tuple[list[str], dict[str, str]]:
    """The airflow-init service as compose resolves it with ``env_file``: its command and environment,
    with the image's paths pointed at this checkout so the command runs outside a container."""
    resolved = subprocess.run(
        [*compose_command(), "--env-file", str(env_file), "config"], cwd=PROJECT, capture_output=True, text=True
    )
    assert resolved.returncode == 0, resolved.stderr
    service = yaml.safe_load(resolved.stdout)["services"]["airflow-init"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "AIRFLOW__", "TWILIO_", "SENDGRID_"))}
    env.update({k: str(v) for k, v in service["environment"].items() if v is not None})
    env.update(
        OUTREACH_HOME=str(home),
        OUTREACH_CAMPAIGNS_DIR=str(PROJECT / "campaigns"),
        OUTREACH_SEGMENTS_FILE=str(PROJECT / "segments.yaml"),
    )
    return service["command"], env


def test_the_stack_refuses_to_start_on_the_example_files_placeholders(tmp_path):
    command, env = init_service_environment(PROJECT / ".env.example", tmp_path)
    assert command[-1].startswith("outreach preflight && airflow db migrate"), "the check comes before anything starts"
    result = subprocess.run([OUTREACH, "preflight"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    for name in (
        "OUTREACH_LINK_SECRET",
        "OUTREACH_PAYMENTS_SECRET",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "OUTREACH_BUSINESS_NAME",
        "OUTREACH_PAY_URL",
    ):
        assert f"  - {name}: " in result.stderr, result.stderr


def test_the_stack_starts_once_every_secret_is_filled_in(tmp_path):
    filled = {
        "POSTGRES_PASSWORD": "pg-9f8e7d6c5b4a",
        "AIRFLOW_JWT_SECRET": "jwt-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d",
        "AIRFLOW_API_SECRET_KEY": "api-5d4c3b2a1f0e9d8c7b6a",
        **{k: v for k, v in PRODUCTION_SETTINGS.items() if k != "OUTREACH_ENVIRONMENT"},
    }
    lines = [line for line in (PROJECT / ".env.example").read_text().splitlines() if line.split("=")[0] not in filled]
    env_file = tmp_path / "filled.env"
    env_file.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in filled.items())]) + "\n")
    _, env = init_service_environment(env_file, tmp_path)
    result = subprocess.run([OUTREACH, "preflight"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "production rules" in result.stdout
