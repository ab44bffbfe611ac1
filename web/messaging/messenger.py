"""How sign-in codes and notifications reach citizens: WhatsApp Cloud API, or the log in dev."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from web.messaging.phone import mask_phone, whatsapp_id
from web.settings import Settings

log = logging.getLogger("aduan.messenger")

DEV_SENT_KEPT = 100


class MessengerError(RuntimeError):
    """The message did not leave; callers tell the citizen to try again."""


class Messenger(Protocol):
    name: str

    async def send_code(self, phone_e164: str, code: str) -> None: ...

    async def send_text(self, phone_e164: str, text: str) -> None: ...

    async def send_status(self, phone_e164: str, number: str, status: str) -> None: ...


class DevMessenger:
    """Writes messages to the log instead of sending them; tests read ``.sent``."""

    name = "dev"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def _keep(self, phone_e164: str, text: str) -> None:
        self.sent.append((phone_e164, text))
        del self.sent[:-DEV_SENT_KEPT]

    async def send_code(self, phone_e164: str, code: str) -> None:
        # WARNING so the line shows with default logging; developers grep for this exact form.
        log.warning("DEV MESSENGER code for %s: %s", phone_e164, code)
        self._keep(phone_e164, f"{code} adalah kode verifikasi Aduan Anda.")

    async def send_text(self, phone_e164: str, text: str) -> None:
        log.warning("DEV MESSENGER text for %s: %s", phone_e164, text)
        self._keep(phone_e164, text)

    async def send_status(self, phone_e164: str, number: str, status: str) -> None:
        log.warning("DEV MESSENGER status for %s: %s %s", phone_e164, number, status)
        self._keep(phone_e164, f"Laporan {number}: {status}")


class WhatsAppCloudMessenger:
    """Meta's WhatsApp Cloud API: ``POST {base_url}/{sender_id}/messages``.

    Codes go through an approved authentication template (the only kind WhatsApp delivers to
    someone who has not written to us in the last 24 hours); free text only within that window.
    """

    name = "whatsapp"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        sender_id: str,
        otp_template: str,
        template_language: str,
        status_template: str = "aduan_status",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/{sender_id}/messages"
        self._token = token
        self.otp_template = otp_template
        self.template_language = template_language
        self.status_template = status_template
        self.timeout = timeout
        self._transport = transport

    def __repr__(self) -> str:  # keeps the token out of tracebacks and debug output
        return f"WhatsAppCloudMessenger(url={self.url!r})"

    async def send_code(self, phone_e164: str, code: str) -> None:
        # Authentication templates take the code twice: the body text and the copy-code button.
        template = {
            "name": self.otp_template,
            "language": {"code": self.template_language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": code}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": code}],
                },
            ],
        }
        await self._post(phone_e164, {"type": "template", "template": template})

    async def send_status(self, phone_e164: str, number: str, status: str) -> None:
        """A ticket update through an approved utility template (body: number, then status)."""
        template = {
            "name": self.status_template,
            "language": {"code": self.template_language},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": number},
                        {"type": "text", "text": status},
                    ],
                }
            ],
        }
        await self._post(phone_e164, {"type": "template", "template": template})

    async def send_text(self, phone_e164: str, text: str) -> None:
        await self._post(phone_e164, {"type": "text", "text": {"body": text, "preview_url": False}})

    async def _post(self, phone_e164: str, message: dict[str, Any]) -> None:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": whatsapp_id(phone_e164),
            **message,
        }
        headers = {"Authorization": f"Bearer {self._token}"}
        # A client per message: sends are rare, and a shared client would be tied to one event loop.
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
                response = await client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("WhatsApp API unreachable for %s: %r", mask_phone(phone_e164), exc)
            raise MessengerError(f"WhatsApp API unreachable: {exc.__class__.__name__}") from exc
        if not response.is_success:
            detail = _api_error_message(response)
            log.warning(
                "WhatsApp API refused a message to %s: %s %s",
                mask_phone(phone_e164),
                response.status_code,
                detail,
            )
            raise MessengerError(f"WhatsApp API error {response.status_code}: {detail}")


def _api_error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no details"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return response.reason_phrase or "no details"


def messenger_from_settings(settings: Settings) -> Messenger:
    if settings.messenger == "whatsapp":
        return WhatsAppCloudMessenger(
            base_url=settings.whatsapp_base_url,
            token=settings.whatsapp_token,
            sender_id=settings.whatsapp_sender_id,
            otp_template=settings.whatsapp_otp_template,
            template_language=settings.whatsapp_template_language,
            status_template=settings.whatsapp_status_template,
        )
    return DevMessenger()
