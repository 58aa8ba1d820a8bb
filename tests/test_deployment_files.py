"""The deployment files agree with the code and the lock file."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.airflow_env import PROJECT


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
