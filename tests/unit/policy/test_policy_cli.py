"""``outreach policy check``: the what-if command compliance officers use."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from outreach.policy import ContactRequest
from tests.airflow_env import PROJECT

EXAMPLES = sorted(p for p in (PROJECT / "docs" / "policy-examples").glob("*.json") if ".expected" not in p.name)


def run_check(document: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "outreach.cli", "policy", "check"],
        input=document,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_documented_example_gives_its_documented_answer(example: Path):
    result = run_check(example.read_text())
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    expected = json.loads(example.with_name(example.stem + ".expected.json").read_text())
    assert {key: answer[key] for key in expected} == expected
    assert answer["reasons"] and answer["trace"]


def test_the_published_schema_is_the_one_the_command_reads():
    published = json.loads((PROJECT / "docs" / "policy-check.schema.json").read_text())
    assert published == ContactRequest.model_json_schema(), "regenerate: outreach policy schema > docs/..."


def test_invalid_input_names_the_field_and_exits_2():
    result = run_check(json.dumps({"account": {"account_id": "A"}, "channel": "fax", "at": "2026-11-18T17:00:00"}))
    assert result.returncode == 2
    assert "channel" in result.stderr and "at" in result.stderr and "timezone" in result.stderr


@pytest.mark.parametrize("field", ["channel", "purpose"])
def test_a_question_about_credit_reporting_is_refused_saying_outreach_never_reports(field):
    document = json.loads(EXAMPLES[0].read_text())
    document[field] = "credit_report"
    result = run_check(json.dumps(document))
    assert result.returncode == 2 and not result.stdout
    assert "does not report to credit bureaus" in result.stderr and "US-25" in result.stderr


def test_the_rule_table_lists_each_rules_citation_and_the_input_facts_it_reads():
    result = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "policy", "rules", "--json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rules = {rule["id"]: rule for rule in json.loads(result.stdout)}
    schema = ContactRequest.model_json_schema()
    fields = {
        "": set(schema["properties"]),
        "account": set(schema["$defs"]["AccountFacts"]["properties"]),
        "history": set(schema["$defs"]["ContactEvent"]["properties"]),
        "template": set(schema["$defs"]["TemplateTraits"]["properties"]),
    }
    for rule in rules.values():
        assert rule["citation"] and rule["reads"], rule["id"]
        for fact in rule["reads"]:
            parent, _, name = fact.rpartition(".")
            assert name in fields[parent], f"{rule['id']} reads {fact}, which the input cannot state"
    assert "history.message_could_be_left" in rules["ma.2per7"]["reads"]
    assert {"recipient", "account.agency"} <= set(
        rules["regf.attorney"]["reads"] + rules["cn.outsourced_agency"]["reads"]
    )
