"""The sandbox refuses what the providers refuse, with their own error bodies."""

import httpx
import pytest

AUTH = ("ACsandbox", "sandbox-auth-token")
MESSAGES = "/2010-04-01/Accounts/ACsandbox/Messages.json"
GOOD = {"To": "+12125550142", "From": "+15005550006", "Body": "Example Bank: hello. Reply STOP to stop texts."}


def post_message(sandbox, **changes):
    data = {**GOOD, **changes}
    return sandbox.http.post(MESSAGES, data={k: v for k, v in data.items() if v is not None}, auth=AUTH)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"To": "2125550142"}, 21211),
        ({"From": None}, 21603),
        ({"Body": "x" * 1601}, 21617),
        ({"To": "+12125550199"}, 21610),
        ({"To": "+12125550198"}, 21614),
        ({"Colour": "blue"}, 21200),
        ({"To": None}, 21200),
    ],
)
def test_twilio_errors_carry_twilio_codes(sandbox, changes, code):
    response = post_message(sandbox, **changes)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"].endswith(str(code))


def test_a_stop_reply_unsubscribes_the_number_from_later_texts(sandbox):
    assert post_message(sandbox).status_code == 201
    sandbox.inbound("+12125550142", "+15005550006", "STOP")
    assert post_message(sandbox).json()["code"] == 21610


def test_requests_need_credentials(sandbox):
    assert httpx.post(sandbox.url + MESSAGES, data=GOOD).status_code == 401
    assert httpx.post(sandbox.url + "/v3/mail/send", json={}).status_code == 401


def test_mail_send_is_checked_against_the_openapi_description(sandbox):
    response = sandbox.http.post(
        "/v3/mail/send",
        json={"personalizations": [{"to": [{"email": "a@example.com"}]}]},
        headers={"Authorization": "Bearer SG.x"},
    )
    assert response.status_code == 400
    assert any("'from' is a required property" in e["message"] for e in response.json()["errors"])


def test_mail_send_refuses_more_than_1000_personalizations(sandbox):
    body = {
        "personalizations": [{"to": [{"email": f"u{i}@example.com"}]} for i in range(1001)],
        "from": {"email": "b@example.com"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "x"}],
    }
    response = sandbox.http.post("/v3/mail/send", json=body, headers={"Authorization": "Bearer SG.x"})
    assert response.status_code == 400
    assert any(e["field"] == "personalizations" for e in response.json()["errors"])


def test_bursts_of_429_carry_retry_after(sandbox):
    sandbox.configure(burst_every=3, burst_length=2, retry_after_seconds=1)
    statuses = [post_message(sandbox) for _ in range(5)]
    assert [r.status_code for r in statuses] == [201, 201, 429, 429, 201]
    assert statuses[2].headers["Retry-After"] == "1" and statuses[2].json()["code"] == 20429


def test_a_wrong_auth_token_is_refused_as_twilio_refuses_it(sandbox):
    response = sandbox.http.post(MESSAGES, data=GOOD, auth=("ACsandbox", "not-the-token"))
    assert response.status_code == 401 and response.json()["code"] == 20003
    assert sandbox.accepted("twilio") == []
