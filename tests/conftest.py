"""Shared fixtures: ledgers on SQLite and on the real PostgreSQL server, and sample books."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from outreach.ledger import Ledger
from outreach.settings import Settings

POSTGRES_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
BUSINESS_DATE = date(2026, 11, 20)

# CI runs the same property-test examples every time; local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``xdist_group`` go to one worker (``--dist loadgroup``), as pytest-xdist intends.

    pytest-xdist 3.8 names the group by appending ``@group`` to ``item._nodeid``, which pytest 9 no
    longer reads (a node's id is ``item._id``): every group was split across the workers, and two
    live Airflow stacks ran at once on two cores. The same suffix, where pytest 9 keeps the id; a
    no-op once the id carries it.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        marks = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        )
        if marks and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(marks)}")


@pytest.fixture
def business_date() -> date:
    return BUSINESS_DATE


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.create_schema()
    yield ledger
    ledger.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped at the end of the session.

    An unreachable server is an error, never a skip: the production-shaped tests
    must run against PostgreSQL, and silence would hide that they did not.
    """
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"outreach_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (set OUTREACH_TEST_POSTGRES_URL): {exc}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_ledger(postgres_server_url: str) -> Iterator[Ledger]:
    ledger = Ledger.from_url(postgres_server_url)
    with ledger.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    ledger.create_schema()
    yield ledger
    ledger.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest) -> Ledger:
    """The same test on the embedded default and on the production database."""
    return request.getfixturevalue("sqlite_ledger" if request.param == "sqlite" else "postgres_ledger")


@pytest.fixture
def settings_for(tmp_path: Path):
    def make(ledger: Ledger, accounts_file: Path | None = None) -> Settings:
        return Settings(
            home=tmp_path / "home",
            ledger_url=ledger.engine.url.render_as_string(hide_password=False),
            accounts_file=accounts_file or tmp_path / "accounts.csv",
            timezone="America/New_York",
        )

    return make


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[str]:
    from outreach.sandbox.app import create_app
    from tests.servers import serve

    with serve(create_app()) as url:
        yield url


@pytest.fixture
def sandbox(sandbox_server: str):
    """The provider sandbox, reset for each test."""
    from outreach.sandbox.app import SandboxConfig
    from tests.servers import Sandbox

    client = Sandbox(sandbox_server)
    client.reset()
    yield client
    # A reset keeps the server's Twilio auth token; a test that changed it gives the default back.
    client.reset()
    client.configure(auth_token=SandboxConfig().auth_token)
