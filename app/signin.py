"""Signing in with SASL, as a pure state machine: AUTHENTICATE parameters in, lines out.

The session starts one :class:`SignIn` per attempt. It picks the mechanism (SCRAM-SHA-256
whenever the server may have it; PLAIN only where the password cannot be read on the way:
over TLS, to a loopback address, or when the user allowed it), answers the server's
challenges, and for SCRAM checks that the server knows the password too before it says
its last word. It writes no sentence: a refusal is a word from :data:`app.events.REFUSALS`.
"""

from __future__ import annotations

import base64
import binascii

from server.protocol.codec import build
from server.protocol.sasl import (
    CHUNK,
    SASLError,
    ScramClient,
    authenticate_chunks,
    plain_message,
)

SCRAM = "SCRAM-SHA-256"
PLAIN = "PLAIN"
#: The mechanisms the client speaks, best first.
PREFERRED = (SCRAM, PLAIN)
#: The most a server challenge may grow to before the client gives up on it.
MAX_CHALLENGE = 8192


class SignIn:
    """One SASL attempt for ``account``; :attr:`refusal` says why it stopped, if it did."""

    def __init__(self, account: str, password: str, plain_allowed: bool) -> None:
        self.account = account
        self._password = password
        self.plain_allowed = plain_allowed
        self.mechanism = ""
        self.refusal = ""
        self.verified = False  # SCRAM: the server proved it knows the password
        self._tried: set[str] = set()
        self._scram: ScramClient | None = None
        self._step = 0
        self._buffer = ""

    def start(self, offered: list[str] | None) -> list[str]:
        """The first line (``AUTHENTICATE <mechanism>``) for the mechanisms ``offered``
        (None: the server did not say); none, with :attr:`refusal` set, when none will do."""
        choices = [m for m in PREFERRED if offered is None or m in offered]
        choices = [m for m in choices if m not in self._tried]
        if PLAIN in choices and not self.plain_allowed:
            choices.remove(PLAIN)
            if not choices:
                self.refusal = "plain-insecure"
                return []
        if not choices:
            self.refusal = "no-mechanism"
            return []
        self.mechanism = choices[0]
        self._tried.add(self.mechanism)
        self._step = 0
        self._buffer = ""
        self._scram = ScramClient(self.account, self._password) if self.mechanism == SCRAM else None
        return [build("AUTHENTICATE", self.mechanism)]

    def challenge(self, piece: str) -> list[str]:
        """The server's next AUTHENTICATE parameter; the lines that answer it (none while a
        long challenge is still arriving in 400-byte pieces)."""
        if piece != "+":
            self._buffer += piece
            if len(self._buffer) > MAX_CHALLENGE:
                return self._abort("malformed")
            if len(piece) == CHUNK:
                return []  # more follows
        data_text, self._buffer = self._buffer, ""
        try:
            data = base64.b64decode(data_text, validate=True) if data_text else b""
        except (binascii.Error, ValueError):
            return self._abort("malformed")
        try:
            answer = self._answer(data)
        except SASLError:
            return self._abort("malformed")
        if answer is None:
            return []
        return [build("AUTHENTICATE", chunk) for chunk in authenticate_chunks(answer)]

    def _answer(self, data: bytes) -> bytes | None:
        self._step += 1
        if self.mechanism == PLAIN:
            if self._step > 1:
                raise SASLError("PLAIN has one message")
            return plain_message(self.account, self._password)
        assert self._scram is not None
        if self._step == 1:
            return self._scram.first()
        if self._step == 2:
            return self._scram.final(data)
        if self._step == 3:
            if not self._scram.verify(data):
                self.refusal = "server-unverified"  # kept by _abort: the server is not who it says
                raise SASLError("the server's SCRAM signature does not match")
            self.verified = True
            return b""
        raise SASLError("the exchange is over")

    def _abort(self, reason: str) -> list[str]:
        self.refusal = self.refusal or reason
        return [build("AUTHENTICATE", "*")]
