"""``outreach``: the command line for operators and the demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from outreach.settings import Settings, SettingsError


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _refused(settings: Settings) -> bool:
    """Print each unsafe setting and return True when the deployment must not run as configured."""
    import os

    from outreach.campaigns import loadable_campaigns
    from outreach.preflight import deployment_problems

    senders = {campaign.id: campaign.senders.environment() for campaign in loadable_campaigns(settings.campaigns_dir)}
    problems = deployment_problems(os.environ, senders)
    if problems:
        print(f"outreach: refusing to start: {len(problems)} unsafe setting(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
    return bool(problems)


def cmd_preflight(args: argparse.Namespace, settings: Settings) -> int:
    """Refuse (exit 1, naming each problem) a deployment that must not run as configured."""
    import os

    from outreach.preflight import is_strict, missing_webhook_secrets

    if _refused(settings):
        return 1
    for refused in missing_webhook_secrets(os.environ):
        print(f"note: the plugin will refuse {refused}", file=sys.stderr)
    print(f"settings checked ({'production' if is_strict(os.environ) else 'development'} rules): nothing unsafe")
    return 0


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.ledger.migrate import LedgerSchemaError, current_revision
    from outreach.pipeline import ledger_for

    if _refused(settings):
        return 1
    try:
        ledger = ledger_for(settings)
    except LedgerSchemaError as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        return 1
    revision = current_revision(ledger.engine)
    ledger.dispose()
    print(f"ledger ready at {ledger.engine.url.render_as_string(hide_password=True)} (schema {revision})")
    return 0


def cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.sample import write_sample

    out = args.out or settings.accounts_file
    business_date = args.date or _today(settings)
    counts = write_sample(Path(out), business_date, accounts=args.accounts, seed=args.seed)
    print(
        f"wrote {counts['accounts']:,} accounts and {counts['malformed']} malformed rows "
        f"for business date {business_date} to {out}"
    )
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.pipeline import ledger_for
    from outreach.report import build_report, format_report

    ledger = ledger_for(settings)
    business_date = args.date or _today(settings)
    run_id = args.run or ledger.latest_run_id(business_date)
    if run_id is None:
        print(f"no run in the ledger for business date {business_date}", file=sys.stderr)
        return 1
    campaigns = [args.campaign] if args.campaign else ledger.campaigns_of_run_date(business_date)
    for index, campaign in enumerate(campaigns or [None]):
        if index:
            print()
        print(format_report(build_report(ledger, ledger.latest_run_id(business_date, campaign) or run_id, campaign)))
    return 0


def cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.explain import explain
    from outreach.pipeline import ledger_for

    ledger = ledger_for(settings)
    account = args.account or (ledger.most_moved_account() if args.most_moved else None)
    if account is None:
        print("name an account (or --most-moved, once a campaign has run)", file=sys.stderr)
        return 2
    text = explain(ledger, ledger.known_account_id(account) or account, args.date)
    if text is None:
        print(f"account {account} is not in the ledger", file=sys.stderr)
        return 1
    print(text)
    return 0


def cmd_campaigns_validate(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.campaigns import validate_directory

    directory = args.directory or settings.campaigns_dir
    results = validate_directory(directory)
    if not results:
        print(f"{directory}: no campaign files (*.yaml)", file=sys.stderr)
        return 1
    for path, problem in results.items():
        print(f"{path}: ok" if problem is None else problem)
    return 0 if all(problem is None for problem in results.values()) else 1


def cmd_campaigns_schedule(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.campaigns import loadable_campaigns

    for campaign in loadable_campaigns(settings.campaigns_dir):
        at = campaign.scheduled_at(args.date)
        print(f"{campaign.dag_id} {at.isoformat() if at else '-'}")
    return 0


def cmd_waves(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.pipeline import campaign_named, ledger_for
    from outreach.waves import format_waves

    ledger = ledger_for(settings)
    campaigns = [args.campaign] if args.campaign else ledger.campaigns_of_run_date(args.date)
    for campaign_id in campaigns:
        campaign = campaign_named(campaign_id, settings)
        waves = ledger.waves(args.date, campaign_id)
        pending = len(ledger.steps(args.date, statuses=["pending"], campaign=campaign_id))
        print(f"{args.date} {campaign_id}: {len(waves)} wave(s), {pending} step(s) left pending")
        print("\n".join(format_waves(waves, campaign.timezone)))
    return 0


def cmd_promise(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.pipeline import ledger_for

    promise_id = ledger_for(settings).add_promise(
        args.account, args.by, round(args.amount * 100), args.currency, "agent", args.agent, args.note
    )
    print(f"promise {promise_id} recorded: {args.account} to pay {args.currency} {args.amount:,.2f} by {args.by}")
    return 0


def cmd_payment(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.pipeline import ledger_for

    added = ledger_for(settings).add_payment(
        args.account, args.on or _today(settings), round(args.amount * 100), args.currency, "manual", args.reference
    )
    print("payment recorded" if added else f"payment {args.reference} was already recorded")
    return 0


def _answered_at(value: str | None, settings: Settings) -> datetime:
    """An instant, or a date taken as its last moment in the business's time zone: the answer then
    counts against every contact with the attorney made that day."""
    if value is None:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, ZoneInfo(settings.timezone)).astimezone(UTC)
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"--at {value!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM+00:00)") from exc
    if at.tzinfo is None:
        raise ValueError(f"--at {value!r} names no time zone (add +00:00, or the offset it was taken in)")
    return at.astimezone(UTC)


def cmd_attorney_answer(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.pipeline import ledger_for

    ledger = ledger_for(settings)
    account = ledger.known_account_id(args.account)
    if account is None:
        print(f"no account {args.account} in the ledger", file=sys.stderr)
        return 2
    try:
        at = _answered_at(args.at, settings)
    except ValueError as exc:
        print(f"outreach attorney-answer: {exc}", file=sys.stderr)
        return 2
    ledger.add_attorney_answer(account, at, args.how, args.by, args.note)
    print(
        f"recorded: the attorney for {account} answered by {args.how} at {at:%Y-%m-%d %H:%M} UTC; "
        "the debtor stays on hold until the attorney is contacted again and does not answer"
    )
    return 0


def cmd_policy_check(args: argparse.Namespace, settings: Settings) -> int:
    """Read one contact question as JSON on stdin, print the decision as JSON."""
    from pydantic import ValidationError

    from outreach.policy import ContactRequest, PolicyConfigError, decide, load_rules
    from outreach.policy.out_of_scope import refusal

    try:
        rules = load_rules(str(settings.policy_settings) if settings.policy_settings else None)
    except PolicyConfigError as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        return 2
    text = sys.stdin.read()
    try:
        outside = refusal(json.loads(text))
    except ValueError:
        outside = None
    if outside:
        print(f"outreach policy check: not a question outreach answers: {outside}", file=sys.stderr)
        return 2
    try:
        request = ContactRequest.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(document)'}: {error['msg']}" for error in exc.errors()
        )
        print(f"outreach policy check: invalid input: {problems}", file=sys.stderr)
        return 2
    decision = decide(request, rules)
    print(decision.model_dump_json(indent=2, exclude_none=False))
    return 0


def cmd_policy_schema(args: argparse.Namespace, settings: Settings) -> int:

    from outreach.policy import ContactRequest

    print(json.dumps(ContactRequest.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_policy_rules(args: argparse.Namespace, settings: Settings) -> int:
    """The rule table: each rule's state, grade, profile, id, citation, and the input facts it reads."""
    from outreach.policy import load_rules
    from outreach.policy.checks import facts_read

    rules = load_rules(str(settings.policy_settings) if settings.policy_settings else None)
    listed = []
    for rule in rules.rules:
        applies = rules.profiles[rule.profile].get("applies") or {}
        reads = [*(f"account.{key}" for key in applies), *facts_read(rule)]
        listed.append(
            {
                "id": rule.id,
                "enabled": rule.enabled,
                "grade": rule.grade,
                "profile": rule.profile,
                "citation": rule.citation,
                "summary": rule.summary,
                "reads": list(dict.fromkeys(reads)),
            }
        )
    if args.json:
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return 0
    for rule in listed:
        state = "on " if rule["enabled"] else "off"
        print(f"{state} {rule['grade']} {rule['profile']:<17} {rule['id']:<32} {rule['citation']}")
        print(f"      reads: {', '.join(rule['reads'])}")
    return 0


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from outreach.sandbox.app import SandboxConfig, SandboxState, create_app

    state = SandboxState(config=SandboxConfig(auth_token=args.auth_token))
    print(f"provider sandbox on http://{args.host}:{args.port} (Twilio and SendGrid APIs; control at /_sandbox)")
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_self_service(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from outreach.selfservice.app import create_app

    print(f"debtor self-service page on http://{args.host}:{args.port}/r/<ref> (the link in every message)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.messages import Sender
    from outreach.pipeline import ledger_for

    ledger = ledger_for(settings)
    day = args.date or ledger.latest_business_date()
    sent = ledger.sent_text_ref(day, args.account) if day else None
    if sent is None:
        print(f"no text went on {day or 'any day'}{' to ' + args.account if args.account else ''}", file=sys.stderr)
        return 1
    print(f"{Sender.from_env().pay_base_url}{sent['ref']}")
    print(f"  the link in the {sent['stage']} text to account {sent['account_id']} of {day}", file=sys.stderr)
    return 0


def cmd_templates(args: argparse.Namespace, settings: Settings) -> int:
    from outreach.template_checks import check_all_templates

    failing = 0
    for path, report in sorted(check_all_templates().items()):
        size = f"{report.segments} {report.encoding} segment(s)" if report.segments else ""
        verdict = "; ".join(report.problems) or "ok"
        failing += bool(report.problems)
        print(f"{path:<38} {size:<22} {verdict}")
    return 1 if failing else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outreach", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "init", help="check the settings are safe to run, then create the ledger or upgrade its schema"
    ).set_defaults(func=cmd_init)
    sub.add_parser(
        "preflight", help="check the settings: each missing or placeholder secret, each unsafe setting"
    ).set_defaults(func=cmd_preflight)
    db = sub.add_parser("db", help="ledger database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending ledger schema migrations").set_defaults(func=cmd_init)

    sample = sub.add_parser("sample", help="write a realistic sample accounts file")
    sample.add_argument("--out", type=Path, help="where to write (default: OUTREACH_ACCOUNTS_FILE)")
    sample.add_argument("--accounts", type=int, default=5000, help="number of good accounts (default 5000)")
    sample.add_argument("--date", type=_date, help="business date the DPDs are relative to (default today)")
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(func=cmd_sample)

    report = sub.add_parser("report", help="print the run report of a business date")
    report.add_argument("--date", type=_date, help="business date (default today)")
    report.add_argument("--run", help="a specific run id (default: the latest run of the date)")
    report.add_argument("--campaign", help="one campaign (default: every campaign that ran that date)")
    report.set_defaults(func=cmd_report)

    policy = sub.add_parser("policy", help="the contact policy: what-if checks and the rule table")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_sub.add_parser("check", help="decide one contact read as JSON on stdin").set_defaults(func=cmd_policy_check)
    policy_sub.add_parser("schema", help="print the JSON Schema of the check input").set_defaults(
        func=cmd_policy_schema
    )
    rules_parser = policy_sub.add_parser("rules", help="list the rule table: grades, citations, facts each reads")
    rules_parser.add_argument("--json", action="store_true", help="print the table as JSON")
    rules_parser.set_defaults(func=cmd_policy_rules)

    sub.add_parser("templates", help="check every message template: disclosures, SMS segments").set_defaults(
        func=cmd_templates
    )

    sandbox = sub.add_parser("sandbox", help="run the local Twilio/SendGrid sandbox server")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--auth-token", default="sandbox-auth-token", help="Twilio auth token to sign callbacks")
    sandbox.set_defaults(func=cmd_sandbox)

    self_service = sub.add_parser("self-service", help="run the debtor-facing self-service page")
    self_service.add_argument("--host", default="127.0.0.1")
    self_service.add_argument("--port", type=int, default=8091)
    self_service.set_defaults(func=cmd_self_service)

    link = sub.add_parser("link", help="the self-service link of a text that went (to try the page)")
    link.add_argument("--date", type=_date, help="the business date (default: the latest pulled)")
    link.add_argument("--account", help="the account the text went to")
    link.set_defaults(func=cmd_link)

    explain = sub.add_parser("explain", help="an account's timeline and the reason for every decision")
    explain.add_argument("account", nargs="?")
    explain.add_argument("--most-moved", action="store_true", help="the account whose ladder moved most")
    explain.add_argument("--date", type=_date, help="show the timeline up to this business date")
    explain.set_defaults(func=cmd_explain)

    campaigns = sub.add_parser("campaigns", help="campaign files")
    campaigns_sub = campaigns.add_subparsers(dest="campaigns_command", required=True)
    validate = campaigns_sub.add_parser("validate", help="check every campaign file; errors name file, line, field")
    validate.add_argument("directory", nargs="?", type=Path, help="default: OUTREACH_CAMPAIGNS_DIR or campaigns/")
    validate.set_defaults(func=cmd_campaigns_validate)
    schedule = campaigns_sub.add_parser("schedule", help="each campaign DAG and the UTC instant it runs on a date")
    schedule.add_argument("--date", type=_date, required=True)
    schedule.set_defaults(func=cmd_campaigns_schedule)

    waves = sub.add_parser("waves", help="a business day's dispatch waves: when, what went, what waited")
    waves.add_argument("--date", type=_date, required=True)
    waves.add_argument("--campaign", help="one campaign (default: every campaign that ran that day)")
    waves.set_defaults(func=cmd_waves)

    promise = sub.add_parser("promise", help="record a promise to pay taken by an agent")
    promise.add_argument("account")
    promise.add_argument("--amount", type=float, required=True)
    promise.add_argument("--by", type=_date, required=True, help="the promised date")
    promise.add_argument("--currency", default="USD")
    promise.add_argument("--agent", required=True, help="who took the promise")
    promise.add_argument("--note")
    promise.set_defaults(func=cmd_promise)

    answer = sub.add_parser(
        "attorney-answer",
        help="record that a represented debtor's attorney answered us by letter, phone or email (US-19)",
    )
    answer.add_argument("account")
    answer.add_argument("--how", choices=["letter", "voice", "email"], required=True)
    answer.add_argument("--by", required=True, help="who records it")
    answer.add_argument("--at", help="when the answer came: YYYY-MM-DD or an ISO time with offset (default now)")
    answer.add_argument("--note")
    answer.set_defaults(func=cmd_attorney_answer)

    payment = sub.add_parser("payment", help="record a payment (normally they arrive from the payments feed)")
    payment.add_argument("account")
    payment.add_argument("--amount", type=float, required=True)
    payment.add_argument("--on", type=_date, help="payment date (default today)")
    payment.add_argument("--currency", default="USD")
    payment.add_argument("--reference", help="the payment's unique reference (makes re-recording harmless)")
    payment.set_defaults(func=cmd_payment)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"outreach: {exc}", file=sys.stderr)
        return 2
    return int(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
