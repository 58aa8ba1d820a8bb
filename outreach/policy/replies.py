"""What an inbound reply means for the contact policy, and the suppressions it writes at once.

Carriers and Twilio act on a handful of single-word keywords only; "please stop
texting me" or "talk to my lawyer" reach the application as plain text, so the
application must understand them itself (CONTACT_POLICY.md B.6).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from outreach.policy.model import Channel, SenderType, Suppression
from outreach.policy.senders import CARRIER_OPT_IN_WORDS

Intent = Literal[
    "opt_out",
    "opt_in",
    "help",
    "medium_opt_out_voice",
    "attorney",
    "dispute",
    "bankruptcy",
    "deceased",
    "call_request",
    "none",
]

OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out"}
    | {"alto", "parar", "cancelar", "baja"}
    | {"退订", "td", "t", "取消", "停止", "拒收"}
)
OPT_IN_WORDS = frozenset({"start", "yes", "unstop", "开始"})
HELP_WORDS = frozenset({"help", "info", "ayuda", "帮助"})

# Phrases, checked in this order: the first that matches decides.
INTENT_PATTERNS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("deceased", re.compile(r"\b(passed away|is deceased|has died|died)\b|去世|过世")),
    ("bankruptcy", re.compile(r"\b(bankrupt|bankruptcy|chapter (7|13))\b|破产")),
    ("attorney", re.compile(r"\b(lawyer|attorney|counsel)\b|律师")),
    ("dispute", re.compile(r"\b(dispute|not my (debt|account)|don'?t owe|do not owe|never owed)\b|异议|不是我的")),
    # A refusal of calls, however worded ("never call me again", "don't ever call", "told you not to call").
    (
        "medium_opt_out_voice",
        re.compile(
            r"\b(stop|no more|don'?t|do not|never|not to|quit)\b(\s+\w+){0,2}?\s+(calling|call|calls|phoning|phone)\b"
            r"|别打|不要打"
        ),
    ),
    (
        "opt_out",
        re.compile(
            r"\b(stop|quit|no more|don'?t|do not) (texting|text|texts|messaging|messages|contacting|contact)\b"
            r"|\bleave me alone\b|\bremove me\b|不要再发|别发|不要联系"
            # A keyword with words around it ("stop please") is still a request to stop.
            r"|^(stop|stopall|unsubscribe|optout|revoke|quit)\b"
        ),
    ),
    # The consumer's direct consent to a call: calls within 7 days of it are not counted (US-7(i)).
    # Only a plain request to be called ("I'll call back" is the consumer calling us, not consent).
    (
        "call_request",
        re.compile(
            r"^(pls |please )?(call me|give me a call)\b|\bplease (call|give me a call)\b"
            r"|\b(can|could|would) you (please )?(call me|give me a call)\b|^请?给我打电话|请给我回电|请来电"
        ),
    ),
)

# Where each intent sends the account, beyond the suppression it writes.
ROUTING: dict[Intent, str] = {
    "attorney": "attorney handling: contact the attorney, not the debtor",
    "dispute": "dispute handling: verify the debt before any further collection",
    "bankruptcy": "bankruptcy review: confirm the filing; the automatic stay applies meanwhile",
    "deceased": "estate handling by a person",
}


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), casefold, punctuation and emoji dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if (ch.isalnum() or ch.isspace() or ch == "'") else " " for ch in folded)
    return " ".join(kept.split())


def classify(text: str) -> Intent:
    cleaned = normalise(text)
    if cleaned in OPT_OUT_WORDS:
        return "opt_out"
    if cleaned in OPT_IN_WORDS:
        return "opt_in"
    if cleaned in HELP_WORDS:
        return "help"
    for intent, pattern in INTENT_PATTERNS:
        if pattern.search(cleaned):
            return intent
    return "none"


@dataclass(frozen=True)
class ReplyEffect:
    intent: Intent
    add: tuple[Suppression, ...]
    # Suppressions to lift: (reason, channel, address). START lifts only the texts' opt-outs on that number.
    lift: tuple[tuple[str, str, str], ...]
    confirm: bool
    routing: str | None


def effects(
    text: str, channel: Channel, address: str, at: datetime, sender_type: SenderType | None = None
) -> ReplyEffect:
    """The suppressions one inbound reply writes, effective immediately.

    To a toll-free number the carrier has acted already (PR-3): it confirmed the STOP itself,
    and re-subscribes on START or UNSTOP only, so a YES there changes nothing.
    """
    intent = classify(text)
    carrier_handled = sender_type == "toll_free"
    if carrier_handled and intent == "opt_in" and normalise(text) not in CARRIER_OPT_IN_WORDS:
        return ReplyEffect("none", (), (), confirm=False, routing=None)

    def hold(reason: str, scope_channel: str | None, scope_address: str | None) -> Suppression:
        return Suppression(
            reason=reason, channel=scope_channel, address=scope_address, effective_at=at, source=f"{channel}_reply"
        )

    if intent == "opt_out":
        add = [hold("electronic_address_opt_out", channel, address)]
        if channel == "sms":
            # Consent to robotexts and robocalls to the number is revoked; kept per channel, as a START
            # later gives back the texts only (rulebook B.6).
            add += [hold("tcpa_revoked", "sms", address), hold("tcpa_revoked", "voice", address)]
        return ReplyEffect(intent, tuple(add), (), confirm=channel == "sms" and not carrier_handled, routing=None)
    if intent == "opt_in":
        lift = (("electronic_address_opt_out", "sms", address), ("tcpa_revoked", "sms", address))
        return ReplyEffect(intent, (), lift, confirm=False, routing=None)
    if intent == "medium_opt_out_voice":
        return ReplyEffect(intent, (hold("medium_opt_out", "voice", None),), (), confirm=False, routing=None)
    if intent in ("attorney", "dispute", "bankruptcy", "deceased"):
        reason = {"attorney": "attorney", "dispute": "dispute", "bankruptcy": "bankruptcy", "deceased": "deceased"}
        return ReplyEffect(intent, (hold(reason[intent], None, None),), (), confirm=False, routing=ROUTING[intent])
    return ReplyEffect(intent, (), (), confirm=False, routing=None)
