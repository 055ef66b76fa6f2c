"""SASL mechanisms against a real account store: PLAIN, SCRAM-SHA-256, EXTERNAL."""

from __future__ import annotations

import base64

import pytest

from server.accounts import AccountStore
from server.protocol.sasl import SASLError, ScramClient, authenticate_chunks, plain_message
from server.sasl import Challenge, Failure, Success, server_mechanism


@pytest.fixture
def store(tmp_path):
    accounts = AccountStore(tmp_path)
    accounts.create("alice", "pencil")
    yield accounts
    accounts.close()


def test_scram_client_matches_the_rfc_7677_example():
    client = ScramClient("user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert client.final(server_first) == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert client.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert not client.verify(b"v=" + base64.b64encode(b"\0" * 32))


def test_plain_signs_in_with_the_right_password_only(store):
    assert isinstance(
        server_mechanism("plain", store).step(plain_message("ALICE", "pencil")), Success
    )
    assert isinstance(server_mechanism("PLAIN", store).step(plain_message("alice", "pen")), Failure)
    assert isinstance(
        server_mechanism("PLAIN", store).step(plain_message("bob", "pencil")), Failure
    )
    other = server_mechanism("PLAIN", store).step(b"bob\0alice\0pencil")
    assert isinstance(other, Failure)  # alice may not act as bob


@pytest.mark.parametrize("message", [b"", b"alice", b"a\0b", b"a\0b\0c\0d", b"\0\0", b"\0a\0\xff"])
def test_malformed_plain_messages_are_sasl_errors(store, message):
    with pytest.raises(SASLError):
        server_mechanism("PLAIN", store).step(message)


def _scram(store, name: str, password: str):
    client = ScramClient(name, password)
    server = server_mechanism("SCRAM-SHA-256", store)
    first = server.step(client.first())
    assert isinstance(first, Challenge)
    final = server.step(client.final(first.data))
    return client, server, final


def test_scram_signs_in_and_the_server_proves_itself(store):
    client, server, final = _scram(store, "Alice", "pencil")
    assert isinstance(final, Challenge) and client.verify(final.data)
    done = server.step(b"")
    assert isinstance(done, Success) and done.account.name == "alice"
    with pytest.raises(SASLError):
        server.step(b"")  # the exchange is over


def test_scram_refuses_a_wrong_password_and_an_unknown_name_alike(store):
    _, _, wrong = _scram(store, "alice", "crayon")
    _, _, nobody = _scram(store, "nobody", "pencil")
    assert isinstance(wrong, Failure) and isinstance(nobody, Failure)


@pytest.mark.parametrize(
    "first",
    [
        b"",
        b"x,,n=a,r=b",
        b"n,,",
        b"n,,r=b,n=a",
        b"n,,n=,r=b",
        b"n,,n=a",
        b"n,x,n=a,r=b",
        b"n,,n=a=,r=b",
    ],
)
def test_malformed_scram_first_messages_are_sasl_errors(store, first):
    with pytest.raises(SASLError):
        server_mechanism("SCRAM-SHA-256", store).step(first)


def test_scram_refuses_channel_binding_and_a_replayed_nonce(store):
    assert isinstance(
        server_mechanism("SCRAM-SHA-256", store).step(b"p=tls-unique,,n=a,r=b"), Failure
    )
    client = ScramClient("alice", "pencil")
    server = server_mechanism("SCRAM-SHA-256", store)
    challenge = server.step(client.first())
    forged = client.final(challenge.data).replace(b",r=", b",r=X", 1)
    assert isinstance(server.step(forged), Failure)
    with pytest.raises(SASLError):
        server_mechanism("SCRAM-SHA-256", store).step(b"\xff\xfe")


def test_external_uses_the_client_certificate(store):
    store.add_certfp("alice", "cd" * 32)
    ok = server_mechanism("EXTERNAL", store, certfp="CD" * 32).step(b"")
    assert isinstance(ok, Success) and ok.account.name == "alice"
    assert isinstance(server_mechanism("EXTERNAL", store, certfp="CD" * 32).step(b"alice"), Success)
    assert isinstance(server_mechanism("EXTERNAL", store, certfp="CD" * 32).step(b"bob"), Failure)
    assert isinstance(server_mechanism("EXTERNAL", store, certfp="ef" * 32).step(b""), Failure)
    assert isinstance(server_mechanism("EXTERNAL", store, certfp=None).step(b""), Failure)


def test_unknown_mechanisms_are_none(store):
    assert server_mechanism("DIGEST-MD5", store) is None


def test_authenticate_chunks_follow_the_400_byte_rule():
    assert authenticate_chunks(b"") == ["+"]
    assert authenticate_chunks(b"abc") == ["YWJj"]
    exactly = authenticate_chunks(b"x" * 300)  # 400 bytes of base64
    assert [len(p) for p in exactly] == [400, 1] and exactly[-1] == "+"
    longer = authenticate_chunks(b"x" * 301)
    assert [len(p) for p in longer] == [400, 4]
