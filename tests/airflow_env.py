"""The environment Airflow needs in tests: a private AIRFLOW_HOME and the project's folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow") if (PROJECT / ".venv" / "bin" / "airflow").exists() else "airflow"
OUTREACH = str(Path(AIRFLOW).with_name("outreach"))


def airflow_environment(airflow_home: Path, outreach_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "OUTREACH_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES": "airflow.* outreach.*",
            "OUTREACH_HOME": str(outreach_home),
        }
    )
    env.update(extra)
    return env


def run(command: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
