"""The rule table: every rule the engine can cite, with its source and verification grade.

Grades follow the contact rulebook: P = primary text seen, S = secondary source,
B = business setting (may only tighten the law). A compliance officer reads a
decision's rule ids against this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    citation: str
    grade: str


_RULES = (
    Rule("acct.paid_in_full", "The account is paid in full; collection outreach stops.", "business", "B"),
    Rule("bk.automatic_stay", "Bankruptcy on file: the automatic stay bars collection.", "11 U.S.C. 362(a)", "P"),
    Rule("acct.deceased", "The debtor is deceased; only estate handling by a person.", "12 CFR 1006.2(e)", "S"),
    Rule("regf.cease", "Written cease-and-desist: only closing or remedy notices may go.", "15 U.S.C. 1692c(c)", "P"),
    Rule("regf.dispute_hold", "Dispute pending verification: collection pauses.", "15 U.S.C. 1692g(b)", "P"),
    Rule(
        "regf.attorney",
        "Represented by an attorney: contact the attorney, not the debtor.",
        "15 U.S.C. 1692c(a)(2)",
        "P",
    ),
    Rule("acct.legal_hold", "Legal hold on the account.", "business", "B"),
    Rule(
        "ledger.suppression",
        "A suppression in the ledger (opt-out, revocation, provider block).",
        "12 CFR 1006.14(h); 47 CFR 64.1200",
        "P",
    ),
    Rule("contact.missing", "No usable contact point on file for this channel.", "business", "B"),
    Rule(
        "tcpa.consent",
        "Automated calls and texts to a phone need prior express consent.",
        "47 U.S.C. 227(b)(1)(A)",
        "P",
    ),
    Rule(
        "email.provenance",
        "Email only to an address with consent or safe-harbour provenance.",
        "12 CFR 1006.6(d)(3)",
        "S",
    ),
    Rule(
        "twilio.no_third_party_collection",
        "Third-party debt collection is not allowed over Twilio SMS.",
        "Twilio error 30943",
        "P",
    ),
    Rule(
        "regf.window",
        "No contact before 08:00 or after 21:00 in every local time zone of the consumer.",
        "12 CFR 1006.6(b)(1)(i)",
        "P",
    ),
    Rule(
        "cn.window", "No collection contact outside 08:00-22:00 local time.", "GB/T 45251-2025; CBA 2026 guideline", "S"
    ),
    Rule(
        "tz.review",
        "No common contact window across the consumer's time zones; a person must decide.",
        "12 CFR 1006.6(b)(1)(i) comment",
        "S",
    ),
    Rule(
        "regf.7in7",
        "At most 7 call attempts in 7 consecutive days per person per debt.",
        "12 CFR 1006.14(b)(2)(i)(A)",
        "P",
    ),
    Rule("soft.sms_cap", "At most 1 text a day and 3 in 7 days.", "12 CFR 1006.14(a) comment 14(a)-1; business", "B"),
    Rule("soft.email_cap", "At most 1 email a day and 4 in 7 days.", "12 CFR 1006.14(a); business", "B"),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
