"""SASL as a client speaks it (PLAIN, SCRAM-SHA-256 as in RFC 5802 and RFC 7677), and the
SCRAM arithmetic both sides share. Pure: bytes in, bytes out; ``AUTHENTICATE`` framing
(base64, 400-byte chunks) is the caller's, see :func:`authenticate_chunks`."""

from __future__ import annotations

import base64
import os

#: The most base64 one AUTHENTICATE line carries (IRCv3 sasl-3.1).
CHUNK = 400


class SASLError(Exception):
    """A client message that does not follow its mechanism (905 on IRC, not 904)."""


def authenticate_chunks(data: bytes) -> list[str]:
    """The AUTHENTICATE parameters that carry ``data``: base64 in 400-byte pieces, then
    ``+`` when the last piece is exactly 400 bytes (or for an empty message)."""
    encoded = base64.b64encode(data).decode("ascii")
    pieces = [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)]
    if not pieces or len(pieces[-1]) == CHUNK:
        pieces.append("+")
    return pieces


def h(data: bytes) -> bytes:
    """SCRAM's H(): SHA-256."""
    import hashlib  # OpenSSL's libcrypto: loaded only when used

    return hashlib.sha256(data).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """SCRAM's HMAC() with SHA-256."""
    import hmac  # OpenSSL's libcrypto: loaded only when used

    return hmac.digest(key, data, "sha256")


def xor(a: bytes, b: bytes) -> bytes:
    """Two equal-length byte strings XORed."""
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def parse_attributes(message: str) -> list[tuple[str, str]]:
    """A SCRAM message's ``k=value`` attributes, in order; :class:`SASLError` if malformed."""
    pairs = []
    for item in message.split(","):
        key, eq, value = item.partition("=")
        if len(key) != 1 or not eq:
            raise SASLError(f"malformed SCRAM attribute {item[:20]!r}")
        pairs.append((key, value))
    return pairs


def plain_message(name: str, password: str) -> bytes:
    """The one PLAIN message a client sends."""
    return b"\0".join((name.encode(), name.encode(), password.encode()))


class ScramClient:
    """The client side of SCRAM-SHA-256: first(), then final(server_first), then
    verify(server_final)."""

    def __init__(self, name: str, password: str, nonce: str | None = None) -> None:
        self._name = name.replace("=", "=3D").replace(",", "=2C")
        self._password = password
        self._nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self._bare = f"n={self._name},r={self._nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        """client-first-message."""
        return f"n,,{self._bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        """client-final-message for the server's challenge."""
        text = server_first.decode()
        values = dict(parse_attributes(text))
        nonce, salt, iterations = values.get("r", ""), values.get("s", ""), values.get("i", "")
        if not nonce.startswith(self._nonce) or not salt or not iterations.isdigit():
            raise SASLError("the server's SCRAM challenge is malformed")
        import hashlib  # OpenSSL's libcrypto: loaded only when used

        salted = hashlib.pbkdf2_hmac(
            "sha256", self._password.encode(), base64.b64decode(salt), int(iterations)
        )
        client_key = hmac_sha256(salted, b"Client Key")
        without_proof = f"c={base64.b64encode(b'n,,').decode()},r={nonce}"
        auth_message = f"{self._bare},{text},{without_proof}".encode()
        proof = xor(client_key, hmac_sha256(h(client_key), auth_message))
        self._server_signature = hmac_sha256(hmac_sha256(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        """Whether the server proved it knows the password too."""
        text = server_final.decode(errors="replace")
        if not text.startswith("v="):
            return False
        try:
            signature = base64.b64decode(text[2:], validate=True)
        except ValueError:
            return False
        import hmac  # OpenSSL's libcrypto: loaded only when used

        return hmac.compare_digest(signature, self._server_signature)
