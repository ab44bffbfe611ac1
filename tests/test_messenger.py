"""Messengers over real HTTP: the WhatsApp client against a fake Cloud API on loopback."""

from __future__ import annotations

import dataclasses
import logging

import anyio
import pytest

from tests.browser import free_port
from tests.fake_whatsapp import FakeWhatsApp
from web.messaging.messenger import (
    DevMessenger,
    MessengerError,
    WhatsAppCloudMessenger,
    messenger_from_settings,
)
from web.settings import Settings

TOKEN = "test-token-EAAJB"
SENDER_ID = "1098765432"
PHONE = "+6281234567890"


@pytest.fixture
def fake_whatsapp():
    with FakeWhatsApp() as fake:
        yield fake


def _messenger(base_url: str, **overrides) -> WhatsAppCloudMessenger:
    options = {
        "base_url": base_url,
        "token": TOKEN,
        "sender_id": SENDER_ID,
        "otp_template": "aduan_otp",
        "template_language": "id",
        "timeout": 5.0,
    }
    return WhatsAppCloudMessenger(**{**options, **overrides})


def test_send_code_posts_an_authentication_template(fake_whatsapp):
    anyio.run(_messenger(fake_whatsapp.url).send_code, PHONE, "482913")

    [request] = fake_whatsapp.requests
    assert request.method == "POST"
    assert request.path == f"/v21.0/{SENDER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json
    assert body["messaging_product"] == "whatsapp"
    assert body["recipient_type"] == "individual"
    assert body["to"] == "6281234567890"
    assert body["type"] == "template"
    template = body["template"]
    assert template["name"] == "aduan_otp"
    assert template["language"] == {"code": "id"}
    body_part, button = template["components"]
    assert body_part == {"type": "body", "parameters": [{"type": "text", "text": "482913"}]}
    assert button["type"] == "button"
    assert button["sub_type"] == "url"
    assert button["index"] == "0"
    assert button["parameters"] == [{"type": "text", "text": "482913"}]


def test_send_text_posts_a_plain_text_message(fake_whatsapp):
    anyio.run(_messenger(fake_whatsapp.url + "/").send_text, PHONE, "Laporan ADU-0001 selesai.")

    [request] = fake_whatsapp.requests
    assert request.path == f"/v21.0/{SENDER_ID}/messages"  # trailing slash in base_url is fine
    assert request.json["to"] == "6281234567890"
    assert request.json["type"] == "text"
    assert request.json["text"] == {"body": "Laporan ADU-0001 selesai.", "preview_url": False}


def test_api_refusal_raises_with_the_api_message(fake_whatsapp, caplog):
    fake_whatsapp.respond_with(
        400,
        {
            "error": {
                "message": "Recipient not on WhatsApp",
                "type": "OAuthException",
                "code": 131026,
            }
        },
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(MessengerError) as refused:
        anyio.run(_messenger(fake_whatsapp.url).send_code, PHONE, "482913")

    assert "Recipient not on WhatsApp" in str(refused.value)
    assert "400" in str(refused.value)
    assert TOKEN not in caplog.text
    assert PHONE not in caplog.text  # the log names the number masked


def test_api_error_without_json_still_raises(fake_whatsapp):
    fake_whatsapp.respond_with(503, "overloaded")
    with pytest.raises(MessengerError, match="503"):
        anyio.run(_messenger(fake_whatsapp.url).send_text, PHONE, "halo")


def test_nothing_listening_raises_messenger_error(caplog):
    messenger = _messenger(f"http://127.0.0.1:{free_port()}/v21.0", timeout=2.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(MessengerError, match="unreachable"):
        anyio.run(messenger.send_code, PHONE, "482913")
    assert TOKEN not in caplog.text


def test_token_stays_out_of_repr():
    assert TOKEN not in repr(_messenger("https://graph.facebook.com/v21.0"))


def test_dev_messenger_logs_the_code_and_keeps_it(caplog):
    messenger = DevMessenger()
    with caplog.at_level(logging.WARNING, logger="aduan.messenger"):
        anyio.run(messenger.send_code, PHONE, "482913")

    [record] = [r for r in caplog.records if r.name == "aduan.messenger"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"DEV MESSENGER code for {PHONE}: 482913"
    [(phone, text)] = messenger.sent
    assert phone == PHONE
    assert "482913" in text


def test_dev_messenger_keeps_only_the_last_100_messages():
    messenger = DevMessenger()

    async def send_many() -> None:
        for n in range(105):
            await messenger.send_text(PHONE, f"pesan {n}")

    anyio.run(send_many)
    assert len(messenger.sent) == 100
    assert messenger.sent[0] == (PHONE, "pesan 5")
    assert messenger.sent[-1] == (PHONE, "pesan 104")


def test_messenger_from_settings_picks_the_configured_one():
    assert isinstance(messenger_from_settings(Settings()), DevMessenger)
    whatsapp = messenger_from_settings(
        dataclasses.replace(Settings(), messenger="whatsapp", whatsapp_sender_id=SENDER_ID)
    )
    assert isinstance(whatsapp, WhatsAppCloudMessenger)
    assert whatsapp.url == f"https://graph.facebook.com/v21.0/{SENDER_ID}/messages"
    assert whatsapp.name == "whatsapp"
