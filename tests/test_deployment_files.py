"""The deployment files agree with the code and the lock file."""

from __future__ import annotations

import subprocess

import yaml

from tests.airflow_env import PROJECT


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
