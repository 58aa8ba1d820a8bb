"""A reply recorded in the ledger changes the next dispatch at once."""

from datetime import UTC, date, datetime

from sqlalchemy import select

from outreach import pipeline
from outreach.events import record_reply
from outreach.ledger.schema import suppressions
from outreach.sample import write_sample
from tests.days import plan_all

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def planned(ledger, settings_for, tmp_path):
    book = tmp_path / "accounts.csv"
    write_sample(book, DAY, accounts=300)
    settings = settings_for(ledger, book)
    ref = plan_all(pipeline.segment(pipeline.pull(DAY, "scheduled__1", settings), settings), settings)
    return settings, ref


def test_stop_holds_the_text_and_start_reopens_it_but_never_lifts_a_dispute(ledger, settings_for, tmp_path):
    settings, ref = planned(ledger, settings_for, tmp_path)
    step = ledger.steps(DAY, statuses=["pending"]).query("channel == 'sms'").iloc[0]
    account_id, number = step["account_id"], step["contact_address"]

    record_reply(ledger, account_id, "sms", number, "please stop texting me", datetime(2026, 11, 20, 16, tzinfo=UTC))
    pipeline.dispatch_due(ref, settings, now=NOON)
    held = ledger.steps(DAY).set_index("step_key").loc[step["step_key"]]
    assert held["status"] == "held" and "opted out" in held["status_reason"]

    record_reply(ledger, account_id, "sms", number, "I dispute this", datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
    record_reply(ledger, account_id, "sms", number, "START", datetime(2026, 11, 20, 16, 45, tzinfo=UTC))
    active = ledger.active_suppressions(NOON)
    left = {(r.reason, r.channel) for r in active[active["account_id"] == account_id].itertuples()}
    assert left == {("dispute", None), ("tcpa_revoked", "voice")}, "START gives back the texts on that number only"


def test_a_start_after_an_opt_out_kept_for_every_channel_gives_back_the_texts_and_not_the_calls(ledger):
    number = "+12125550142"
    # How opt-outs were kept before they were kept per channel: one revocation for every channel.
    with ledger.engine.begin() as conn:
        conn.execute(
            suppressions.insert().values(
                account_id="AC1",
                channel=None,
                address=number,
                reason="tcpa_revoked",
                source="sms_reply",
                effective_at=at(15, 0),
                note="reply classified as opt_out",
            )
        )
    record_reply(ledger, "AC1", "sms", number, "START", at(16, 0))
    active = ledger.active_suppressions(NOON)
    left = {(r.reason, r.channel, f"{r.effective_at:%Y-%m-%d %H:%M}") for r in active.itertuples()}
    assert left == {("tcpa_revoked", "voice", "2026-11-20 15:00")}, "the calls stay revoked from the STOP's instant"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 20, hour, minute, tzinfo=UTC)


def opt_outs(ledger, account_id: str) -> set[str]:
    active = ledger.active_suppressions(NOON)
    return set(active.loc[active["account_id"] == account_id, "reason"])


def test_opt_out_and_opt_in_take_effect_in_the_order_they_were_sent_whatever_order_they_arrive(
    ledger, settings_for, tmp_path
):
    planned(ledger, settings_for, tmp_path)
    texts = ledger.steps(DAY, statuses=["pending"]).query("channel == 'sms'").drop_duplicates("contact_address")
    (first, second) = [(row["account_id"], row["contact_address"]) for _, row in texts.iloc[:2].iterrows()]

    # A START sent at 16:00 arrives after a STOP sent at 16:05: the person's last word was STOP.
    record_reply(ledger, first[0], "sms", first[1], "STOP", at(16, 5), "SM-stop-1", received_at=at(16, 6))
    record_reply(ledger, first[0], "sms", first[1], "START", at(16, 0), "SM-start-1", received_at=at(16, 7))
    assert "electronic_address_opt_out" in opt_outs(ledger, first[0])

    # A STOP sent at 16:00 arrives after a START sent at 16:10: the person's last word was START.
    record_reply(ledger, second[0], "sms", second[1], "START", at(16, 10), "SM-start-2", received_at=at(16, 11))
    record_reply(ledger, second[0], "sms", second[1], "STOP", at(16, 0), "SM-stop-2", received_at=at(16, 12))
    assert "electronic_address_opt_out" not in opt_outs(ledger, second[0])
    # Both facts stay on the record: the STOP, and that the START lifted it.
    with ledger.engine.connect() as conn:
        stop = conn.execute(
            select(suppressions).where(
                suppressions.c.account_id == second[0], suppressions.c.reason == "electronic_address_opt_out"
            )
        ).one()
    assert stop.lifted_at is not None and "opt-in that arrived first" in stop.note


def test_an_opt_out_recorded_or_contacted_after_its_deadline_is_in_the_report(ledger, settings_for, tmp_path):
    from datetime import timedelta

    from outreach.ledger.schema import attempts, pipeline_runs
    from outreach.report import build_report, format_report, late_opt_out_rows

    settings, _ = planned(ledger, settings_for, tmp_path)
    given = NOON - timedelta(days=21)  # 30 October: due by 16 November (ten business days; 11th a holiday)
    # A STOP given three weeks ago that reaches the ledger only now (relayed late from another system).
    record_reply(ledger, None, "sms", "+12125550142", "STOP", given, received_at=NOON)
    # An unsubscribe recorded in time, and an email sent to that address after its deadline anyway.
    step = ledger.steps(DAY).query("channel == 'email' and contact_address.notna()").iloc[0]
    with ledger.engine.begin() as conn:
        conn.execute(
            suppressions.insert().values(
                account_id=step["account_id"],
                channel="email",
                address=step["contact_address"],
                reason="electronic_address_opt_out",
                source="unsubscribe_link",
                effective_at=given,
                recorded_at=given,
            )
        )
        conn.execute(
            attempts.insert().values(
                step_key=step["step_key"],
                run_id="run-1",
                account_id=step["account_id"],
                channel="email",
                status="sent",
                claimed_at=NOON,
            )
        )
        run_id = conn.execute(select(pipeline_runs.c.run_id)).scalar()

    rows = late_opt_out_rows(ledger, DAY)
    assert {(row["reason"], row["channel"], row["how"]) for row in rows} == {
        # The STOP's three holds: texts opted out, texts and calls revoked.
        ("electronic_address_opt_out", "sms", "recorded after its deadline"),
        ("tcpa_revoked", "sms", "recorded after its deadline"),
        ("tcpa_revoked", "voice", "recorded after its deadline"),
        ("electronic_address_opt_out", "email", "contacted after its deadline"),
    }
    assert {row["honour_by"] for row in rows} == {"2026-11-16 17:00 UTC"}
    assert not any("+12125550142" in str(row) or step["contact_address"] in str(row) for row in rows), "masked"
    text = format_report(build_report(ledger, run_id))
    assert "OPT-OUTS NOT HONOURED BY THEIR LEGAL DEADLINE (last 30 days): 4" in text


def test_a_call_me_reply_is_the_consumers_direct_consent_the_planner_reads(ledger):
    from outreach.decision_classes import contact_request
    from outreach.policy import decide

    number = "+12125550142"
    record_reply(ledger, "AC1", "sms", number, "Please call me after 5", at(15, 0), "SM-call-me")
    events = ledger.contact_events(at(0, 0)).to_dict("records")
    account = {"account_id": "AC1", "country": "US", "region": "NY", "mobile_phone": number, "consent_voice": True}
    # Seven unanswered calls this week, the last an hour after the request: six count, and the next may go.
    calls = [
        {"account_id": "AC1", "at": datetime(2026, 11, day, 16, tzinfo=UTC), "channel": "voice", "kind": "attempt"}
        | {"outcome": "no_answer", "address": number}
        for day in (14, 15, 16, 17, 18, 19, 20)
    ]
    request = contact_request(account, "voice", "m2_call", number, NOON, events + calls, [])
    assert [c.scope for c in request.account.consents if c.address == number] == ["direct_call"]
    decision = decide(request)
    assert decision.decision == "send" and "regf.7in7" in decision.rules
    assert "within 7 days of the consumer's direct consent" in decision.reason_text()
