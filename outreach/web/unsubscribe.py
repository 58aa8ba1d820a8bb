"""Unsubscribe links: ``POST /outreach/unsubscribe/{ref}`` stops email to that address at once.

Every email carries the link twice: in ``List-Unsubscribe`` with ``List-Unsubscribe-Post``
(RFC 8058 one-click: the mailbox provider POSTs ``List-Unsubscribe=One-Click``, without
cookies or a login), and in its footer, where a person's click GETs a page that asks them to
confirm. A GET never unsubscribes, because mail scanners follow links. The ref is the
message's own (``outreach.links``): an unknown, forged or expired one changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from outreach.events import record_unsubscribe
from outreach.links import LinkError, LinkKeys
from outreach.masking import mask_email
from outreach.messages import Sender
from outreach.settings import Settings
from outreach.web.events import shared_ledger

log = logging.getLogger(__name__)
router = APIRouter(prefix="/unsubscribe")
ONE_CLICK = "One-Click"


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
        "button{font-size:1rem;padding:.6rem 1.2rem}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code)


def _message(ref: str) -> tuple[dict | None, str | None]:
    """The email a ref belongs to, or why the link does not work."""
    settings = Settings.from_env()
    message = shared_ledger().message_ref(ref)
    if message is None or message["channel"] != "email" or not message["contact_address"]:
        return None, "We do not recognise this link."
    try:
        LinkKeys.from_env(settings.home).check(
            ref, message["step_key"], message["business_date"], "unsubscribe", datetime.now(UTC).date()
        )
    except LinkError as exc:
        return None, f"{exc}."
    return message, None


@router.get("/{ref}")
async def confirm_page(ref: str) -> HTMLResponse:
    message, problem = await run_in_threadpool(_message, ref)
    if message is None:
        return _page("This link does not work", f"<p>{escape(problem or '')}</p>", 404)
    business = escape(Sender.from_env().business_name)
    address = escape(mask_email(message["contact_address"]))
    return _page(
        "Stop these emails?",
        f"<p>{business} will stop sending emails to <strong>{address}</strong>.</p>"
        f'<form method="post"><input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">'
        "<button type=submit>Unsubscribe</button></form>",
    )


@router.post("/{ref}")
async def unsubscribe(request: Request, ref: str) -> HTMLResponse:
    form = await request.form()
    if form.get("List-Unsubscribe") != ONE_CLICK:
        return _page("Nothing changed", "<p>This request did not ask to unsubscribe.</p>", 400)
    message, problem = await run_in_threadpool(_message, ref)
    if message is None:
        return _page("This link does not work", f"<p>{escape(problem or '')}</p>", 404)
    new = await run_in_threadpool(record_unsubscribe, shared_ledger(), message, datetime.now(UTC), "unsubscribe link")
    address = mask_email(message["contact_address"])
    log.info("unsubscribe link: email to %s stopped%s", address, "" if new else " (it already was)")
    business = escape(Sender.from_env().business_name)
    return _page(
        "You are unsubscribed",
        f"<p>{business} will send no more emails to <strong>{escape(address)}</strong>. "
        "We may still write or call about the account where the law allows.</p>"
        f'<p><a href="{escape(Sender.from_env().pay_base_url + ref)}">Choose how else we contact you</a></p>',
    )
