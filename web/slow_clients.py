"""A deadline for reading request bodies.

uvicorn waits for a request body as long as the client keeps the connection open: six connections
dripping a byte a second each held a request open for good. Behind nginx this never triggers
(nginx buffers the whole body first, see deploy/nginx/aduan.conf); it is the backstop for an app
reached directly. Slow *headers* are the reverse proxy's job: uvicorn has no header timeout.
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware.base import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send


class BodyDeadlineMiddleware(ASGIMiddleware):
    """Answers 408 and closes the connection when a body takes longer than ``seconds`` to arrive."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False
        timed_out = False

        async def receive_in_time() -> ReceiveMessage:
            nonlocal body_done, timed_out
            if body_done:  # later receives wait for a disconnect (streamed responses): no deadline
                return await receive()
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0)):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise HTTPException(status_code=408, detail="request body too slow") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_closing(message: Message) -> None:
            # The rest of the body may still be on its way: this connection cannot be reused.
            if timed_out and message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"connection", b"close")],
                }
            await send(message)

        await next_app(scope, receive_in_time, send_closing)
