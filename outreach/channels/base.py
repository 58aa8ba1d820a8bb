"""The channel interface every provider implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class OutboundMessage:
    step_key: str
    account_id: str
    channel: str
    to: str | None
    subject: str | None
    body: str
    locale: str
    # What providers echo back in callbacks and custom args: an opaque ref, never the step key
    # (which names the account). Only a message built outside the dispatcher goes without one.
    ref: str | None = None
    # A call the rules require recorded (the provider records it and reports the recording).
    record: bool = False
    # Whom the message addresses when not the debtor (``outreach.parties.Recipient``).
    recipient: str | None = None

    @property
    def callback_ref(self) -> str:
        return self.ref or self.step_key


@dataclass(frozen=True)
class SendResult:
    step_key: str
    # unknown: the request may have reached the provider; it is resolved later, never repeated.
    status: Literal["sent", "failed", "unknown"]
    provider_message_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    # Permanent failures (invalid number, unsubscribed) are never retried.
    permanent: bool = False


class Channel(Protocol):
    name: str

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]: ...
