"""SASL mechanisms on the server's side, as pure state machines: bytes in, a step out.

They check a client against the account store: PLAIN, SCRAM-SHA-256 (RFC 5802, RFC 7677)
and EXTERNAL by TLS client-certificate fingerprint. The client side, and the SCRAM
arithmetic both share, are in :mod:`server.protocol.sasl`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .protocol.sasl import SASLError, h, hmac_sha256, parse_attributes, xor

if TYPE_CHECKING:
    from .accounts import Account, AccountStore

#: The mechanisms a server offers, in the order CAP LS names them.
MECHANISMS = ("PLAIN", "EXTERNAL", "SCRAM-SHA-256")


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send ``data`` to the client and wait for its next message."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Success:
    """The client proved it owns ``account``."""

    account: Account


@dataclass(frozen=True, slots=True)
class Failure:
    """Wrong credentials (904 on IRC); ``reason`` is for the log, never the client."""

    reason: str
    #: The account whose password was wrong, if any (its failures slow the next guess).
    account: str | None = None


Step = Challenge | Success | Failure

#: The most base64 a client's response may carry in all (sasl-3.1 lets a server limit
#: it): a PLAIN message of the longest name and password fits many times over.
MAX_RESPONSE = 4 * 400


@dataclass(slots=True)
class Exchange:
    """One AUTHENTICATE exchange in progress on one connection."""

    mechanism: ServerMechanism
    #: The chunks of the client response received so far (base64).
    chunks: list[str]
    #: How much base64 those chunks hold.
    size: int = 0


class ServerMechanism(Protocol):
    """One exchange of one mechanism, on the server's side."""

    def step(self, data: bytes) -> Step:
        """Take the client's next message (``b""`` for an empty one)."""
        ...


def server_mechanism(
    name: str, store: AccountStore, certfp: str | None = None
) -> ServerMechanism | None:
    """The server side of mechanism ``name`` (case-insensitive), or None if unknown."""
    upper = name.upper()
    if upper == "PLAIN":
        return PlainServer(store)
    if upper == "SCRAM-SHA-256":
        return ScramServer(store)
    if upper == "EXTERNAL":
        return ExternalServer(store, certfp)
    return None


# --- PLAIN (RFC 4616) ------------------------------------------------------------------
class PlainServer:
    """``[authzid] NUL authcid NUL password`` in one message."""

    def __init__(self, store: AccountStore) -> None:
        self._store = store

    def step(self, data: bytes) -> Step:
        """Check the one message PLAIN has."""
        parts = data.split(b"\0")
        if len(parts) != 3:
            raise SASLError("PLAIN takes authzid NUL authcid NUL password")
        try:
            authzid, authcid, password = (part.decode("utf-8") for part in parts)
        except UnicodeDecodeError:
            raise SASLError("PLAIN credentials must be UTF-8") from None
        if not authcid or not password:
            raise SASLError("PLAIN needs a name and a password")
        if authzid and authzid.casefold() != authcid.casefold():
            return Failure(f"{authcid} may not act as {authzid}")
        account = self._store.authenticate(authcid, password)
        if account is None:
            return Failure(f"wrong password for {authcid}", authcid)
        return Success(account)


# --- EXTERNAL (RFC 4422 appendix A) ------------------------------------------------------
class ExternalServer:
    """The TLS client certificate names the account; the message may name it too."""

    def __init__(self, store: AccountStore, certfp: str | None) -> None:
        self._store = store
        self._certfp = certfp

    def step(self, data: bytes) -> Step:
        """Check the certificate (and the account the message asks for, if any)."""
        if self._certfp is None:
            return Failure("no TLS client certificate")
        account = self._store.by_certfp(self._certfp)
        if account is None:
            return Failure(f"certificate {self._certfp} belongs to no account")
        try:
            wanted = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SASLError("EXTERNAL authzid must be UTF-8") from None
        if wanted and wanted.casefold() != account.name.casefold():
            return Failure(f"certificate of {account.name} may not act as {wanted}")
        return Success(account)


# --- SCRAM-SHA-256 (RFC 5802, RFC 7677) --------------------------------------------------
def _saslname(value: str) -> str:
    """Undo the RFC 5802 escaping of ``,`` (``=2C``) and ``=`` (``=3D``) in a user name."""
    rest = value.replace("=2C", "").replace("=3D", "")
    if "=" in rest:
        raise SASLError("bad escape in SCRAM user name")
    return value.replace("=2C", ",").replace("=3D", "=")


class ScramServer:
    """Three messages: client-first, client-final, then an empty one after server-final."""

    def __init__(self, store: AccountStore) -> None:
        self._store = store
        self._state = "first"
        self._gs2 = ""
        self._name = ""
        self._nonce = ""
        self._auth_prefix = ""
        self._stored_key = b""
        self._server_key = b""
        self._account: Account | None = None

    def step(self, data: bytes) -> Step:
        """Take the next client message."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SASLError("SCRAM messages must be UTF-8") from None
        if self._state == "first":
            return self._first(text)
        if self._state == "final":
            return self._final(text)
        if self._state == "done":
            self._state = "over"
            if text:
                raise SASLError("expected an empty message after server-final")
            assert self._account is not None
            return Success(self._account)
        raise SASLError("the exchange is over")

    def _first(self, text: str) -> Step:
        flag, _, rest = text.partition(",")
        authzid, _, bare = rest.partition(",")
        if flag not in ("n", "y") or not bare:
            if flag.startswith("p="):
                return Failure("channel binding is not supported")
            raise SASLError("SCRAM client-first needs a gs2 header n,, or y,,")
        if authzid and not authzid.startswith("a="):
            raise SASLError("bad authzid in the gs2 header")
        self._gs2 = f"{flag},{authzid},"
        attributes = parse_attributes(bare)
        if len(attributes) < 2 or attributes[0][0] != "n" or attributes[1][0] != "r":
            raise SASLError("SCRAM client-first is n=name,r=nonce")
        if attributes[0][1] == "" or attributes[1][1] == "":
            raise SASLError("SCRAM client-first needs a name and a nonce")
        if any(key == "m" for key, _ in attributes):
            return Failure("SCRAM extensions are not supported")
        self._name = _saslname(attributes[0][1])
        client_nonce = attributes[1][1]
        wanted = authzid[2:]
        if wanted and wanted.casefold() != self._name.casefold():
            return Failure(f"{self._name} may not act as {wanted}")
        credentials = self._store.scram(self._name)
        if credentials is None:
            # Answer as for a real account (a salt, the usual iterations), so that a
            # stranger learns nothing about which names exist; the proof cannot match.
            salt, iterations = os.urandom(16), 4096
            self._stored_key, self._server_key = b"\0" * 32, b"\0" * 32
        else:
            salt, iterations = credentials.salt, credentials.iterations
            self._stored_key, self._server_key = credentials.stored_key, credentials.server_key
        self._nonce = client_nonce + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={self._nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        self._auth_prefix = f"{bare},{server_first}"
        self._state = "final"
        return Challenge(server_first.encode())

    def _final(self, text: str) -> Step:
        without_proof, sep, proof_part = text.rpartition(",p=")
        if not sep:
            raise SASLError("SCRAM client-final needs a proof p=")
        attributes = parse_attributes(without_proof)
        if len(attributes) < 2 or attributes[0][0] != "c" or attributes[1][0] != "r":
            raise SASLError("SCRAM client-final is c=binding,r=nonce,p=proof")
        try:
            binding = base64.b64decode(attributes[0][1], validate=True).decode()
            proof = base64.b64decode(proof_part, validate=True)
        except (ValueError, UnicodeDecodeError):
            raise SASLError("SCRAM client-final has bad base64") from None
        if binding != self._gs2:
            return Failure("channel binding data does not match the gs2 header")
        if attributes[1][1] != self._nonce:
            return Failure("the nonce does not match")
        if len(proof) != 32:
            raise SASLError("a SCRAM-SHA-256 proof is 32 bytes")
        auth_message = f"{self._auth_prefix},{without_proof}".encode()
        client_key = xor(proof, hmac_sha256(self._stored_key, auth_message))
        import hmac  # OpenSSL's libcrypto: loaded only when used

        if not hmac.compare_digest(h(client_key), self._stored_key):
            self._state = "over"
            return Failure(f"wrong password for {self._name}", self._name)
        account = self._store.find(self._name)
        if account is None:  # removed while signing in
            self._state = "over"
            return Failure(f"no account {self._name}")
        self._account = account
        self._state = "done"
        signature = hmac_sha256(self._server_key, auth_message)
        return Challenge(b"v=" + base64.b64encode(signature))
