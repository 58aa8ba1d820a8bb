"""The FCC Reassigned Numbers Database (RND): was a number permanently disconnected since a date?

A caller that asks before texting or calling with consent, and keeps the answer, has the
safe harbour of 47 CFR 64.1200(m) if the database answers wrongly; a debt collector needs a
"not reassigned" answer within 60 days to text under 12 CFR 1006.6(d)(5) (rulebook TC-8, US-14).
The database is a provider like Twilio: its base URL and token are configuration, and the local
sandbox answers in its place in tests and the demo.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from outreach.masking import mask_phone

log = logging.getLogger(__name__)

Answer = Literal["yes", "no", "no_data"]
ANSWERS = frozenset({"yes", "no", "no_data"})
# How many numbers one request asks about.
BATCH = 500


class ReassignedNumbersError(RuntimeError):
    """The database did not answer usably; the message says what came back."""


@dataclass(frozen=True)
class NumberQuery:
    number: str
    # The date since which the number should have stayed the consumer's (when consent was given).
    since: date


@dataclass(frozen=True)
class NumberAnswer:
    number: str
    since: date
    answer: Answer


class _Transient(Exception):
    pass


@dataclass(frozen=True)
class ReassignedNumbers:
    base_url: str
    token: str
    timeout: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReassignedNumbers | None:
        """The configured database (``OUTREACH_RND_URL``, ``OUTREACH_RND_TOKEN``), else the sandbox's; None
        when neither is configured (the embedded default checks nothing and claims no safe harbour)."""
        env = os.environ if env is None else env
        if env.get("OUTREACH_RND_URL"):
            return cls(env["OUTREACH_RND_URL"].rstrip("/"), env.get("OUTREACH_RND_TOKEN", ""))
        if env.get("OUTREACH_SANDBOX_URL"):
            return cls(env["OUTREACH_SANDBOX_URL"].rstrip("/") + "/rnd", "sandbox")
        return None

    def check(self, queries: Sequence[NumberQuery]) -> list[NumberAnswer]:
        """The database's answer for each query; ``ReassignedNumbersError`` when it gives none usable
        (refused, unreachable after retries, or an answer that is not the API's)."""
        answers: list[NumberAnswer] = []
        for start in range(0, len(queries), BATCH):
            try:
                answers.extend(self._ask(queries[start : start + BATCH]))
            except _Transient as exc:
                raise ReassignedNumbersError(f"the database did not answer after retries: {exc}") from exc
            except ValueError as exc:
                raise ReassignedNumbersError(f"the database's answer is not the API's JSON: {exc}") from exc
        return answers

    @retry(
        retry=retry_if_exception_type(_Transient),
        stop=stop_after_attempt(4),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    )
    def _ask(self, queries: Sequence[NumberQuery]) -> list[NumberAnswer]:
        body = {"queries": [{"tn": q.number, "date": q.since.isoformat()} for q in queries]}
        try:
            response = requests.post(
                f"{self.base_url}/v1/queries",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise _Transient(str(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise ReassignedNumbersError(f"the database refused the query: HTTP {response.status_code}")
        results = response.json().get("results") or []
        asked = {q.number: q for q in queries}
        answers = []
        for item in results:
            query = asked.get(item.get("tn"))
            if query is None or item.get("result") not in ANSWERS:
                raise ReassignedNumbersError(
                    f"unexpected answer for {mask_phone(str(item.get('tn')))}: {item.get('result')!r}"
                )
            answers.append(NumberAnswer(query.number, query.since, item["result"]))
        return answers
