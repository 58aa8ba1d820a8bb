"""The documented source examples are valid specs."""

import pytest

from outreach.accounts import load_spec
from tests.airflow_env import PROJECT

EXAMPLES = sorted((PROJECT / "docs" / "source-examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_documented_source_examples_load(path):
    spec = load_spec(path)
    assert spec.columns, "an example shows a column mapping"
