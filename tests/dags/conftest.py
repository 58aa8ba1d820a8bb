import os
import sys
import tempfile
from pathlib import Path

from tests.airflow_env import airflow_environment

# Airflow reads its configuration when first imported: point it at a throw-away home first.
_home = Path(tempfile.mkdtemp(prefix="outreach-dagtests-"))
os.environ.update(airflow_environment(_home / "airflow", _home / "outreach"))

# Plugins (the provider hooks) are importable by their module name, as Airflow makes them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))
# The DAG processor puts the DAG folder on the path (the campaign DAG builder lives there).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dags"))
