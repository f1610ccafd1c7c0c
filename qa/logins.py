"""Logins for the chat page: reading QA_UI_AUTH, and slowing down failed logins from one address.

Gradio checks the password at `POST /login` and keeps no count of failures, so a
script can try passwords as fast as the server answers. `LoginThrottle` is an ASGI
middleware in front of that route: after LOGIN_FREE_FAILURES failures from one client
address, each further try from it waits until a delay (doubling with every failure,
at most LOGIN_MAX_DELAY) has passed since the last failure. Tries from one address are
taken one at a time, so sending many at once gains nothing; a try that would have to
wait longer than LOGIN_MAX_WAIT is refused at once with HTTP 429 and a message saying
when to try again, and its password is not checked. A right password clears the count.
The address is the connection's own: behind a proxy every user shares the proxy's.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QAError

LOGIN_PATHS = ("/login", "/login/")  # Gradio's password form posts here
LOGIN_FREE_FAILURES = 3  # typos: this many failures from an address cost nothing
LOGIN_FIRST_DELAY = 1.0  # seconds before the try after them; doubles with every further failure
LOGIN_MAX_DELAY = 300.0  # at most 5 minutes between tries: 300 wrong passwords take about a day
LOGIN_MAX_WAIT = 5.0  # a try held longer than this is refused (429) instead of keeping its connection open
LOGIN_FORGET_AFTER = 3600.0  # an address's failures are forgotten an hour after its last one
LOGIN_TRACKED_ADDRESSES = 10_000  # addresses remembered at once; the longest-quiet ones go first


def read_auth(value: str) -> list[tuple[str, str]] | None:
    """Logins from QA_UI_AUTH: `user:password`, or `@file` holding one user:password a line."""
    if not value:
        return None
    lines = [value]
    if value.startswith("@"):
        try:
            lines = Path(value[1:]).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise QAError(f"QA_UI_AUTH: cannot read {value[1:]}: {error.strerror}.") from None
    logins = []
    for line in (line.strip() for line in lines):
        if line and not line.startswith("#"):
            user, _, password = line.partition(":")
            if not user or not password:
                raise QAError("QA_UI_AUTH: write logins as user:password (or @/path/to/file with one a line).")
            logins.append((user, password))
    if not logins:
        raise QAError(f"QA_UI_AUTH: {value[1:]} holds no user:password line.")
    return logins


def login_delay(failures: int) -> float:
    """Seconds a try must wait after the last of `failures` failed logins from its address."""
    if failures < LOGIN_FREE_FAILURES:
        return 0.0
    return min(LOGIN_FIRST_DELAY * 2 ** (failures - LOGIN_FREE_FAILURES), LOGIN_MAX_DELAY)


@dataclass
class _Address:
    failures: int = 0
    last_failure: float = 0.0
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one try at a time from one address


class LoginThrottle:
    """ASGI middleware that delays, then refuses, repeated failed logins from one client address."""

    def __init__(self, app, clock=time.monotonic):
        self.app, self.clock = app, clock
        self.addresses: OrderedDict[str, _Address] = OrderedDict()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in LOGIN_PATHS:
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("unknown",))[0]
        entry = self._entry(address)
        async with entry.turn:
            wait = entry.last_failure + login_delay(entry.failures) - self.clock() if entry.failures else 0.0
            if wait > LOGIN_MAX_WAIT:
                return await self._refuse(send, wait)
            if wait > 0:
                await asyncio.sleep(wait)
            status = []

            async def watching_send(message):
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                await send(message)

            await self.app(scope, receive, watching_send)
            if status and 200 <= status[0] < 300:
                entry.failures = 0
            else:
                entry.failures += 1
                entry.last_failure = self.clock()
                self.addresses.move_to_end(address)

    def _entry(self, address: str) -> _Address:
        """The address's record, new or forgotten ones started afresh; the table kept within bounds."""
        now = self.clock()
        entry = self.addresses.get(address)
        if entry is not None and entry.failures and now - entry.last_failure > LOGIN_FORGET_AFTER:
            entry.failures = 0
        if entry is None:
            entry = self.addresses[address] = _Address()
        while len(self.addresses) > LOGIN_TRACKED_ADDRESSES:
            self.addresses.popitem(last=False)
        return entry

    @staticmethod
    async def _refuse(send, wait: float) -> None:
        seconds = math.ceil(wait)
        body = json.dumps(
            {"detail": f"Too many failed logins from this address: try again in {seconds} s."}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                   (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
