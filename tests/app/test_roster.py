"""The roster fed line by line: who may set the topic (ISUPPORT PREFIX, +t), and the
channel modes it asks for itself on join."""

from __future__ import annotations

import pytest

from app.events import Kind
from app.session import Session
from tests.app.helpers import Fed


@pytest.fixture
def fed() -> Fed:
    session = Session(nick="me")
    session.registered = True
    feed = Fed(session)
    feed(
        ":srv 005 me PREFIX=(qov)~@+ CHANMODES=beI,k,l,imnst :are supported",
        ":me!u@h JOIN #Chan",
        ":srv 353 me = #chan :~boss me bob",
        ":srv 366 me #chan :End",
    )
    return feed


def _replies(fed: Fed) -> list[str]:
    """The numerics shown, but the ISUPPORT burst."""
    return [r.code for r in fed.log.of(Kind.REPLY) if r.code != "005"]


def _settable(fed: Fed) -> bool:
    return fed.log.of(Kind.MEMBERS, conversation="#Chan")[-1].topic_settable


def test_the_topic_is_settable_by_an_op_or_higher_or_anyone_when_not_t(fed):
    assert "MODE #Chan" in fed.sent  # asked on join, like irssi
    assert not _settable(fed)  # +t until the server says otherwise
    fed(":srv 324 me #chan +nt", ":srv 329 me #chan 1700000000")
    assert not _replies(fed)  # our own question: its answer is not shown
    assert not _settable(fed)
    fed(":boss!b@h MODE #chan +o me")
    assert _settable(fed)
    fed(":boss!b@h MODE #chan -o+v me me")
    assert not _settable(fed)
    fed(":boss!b@h MODE #chan +q me")  # ~ ranks above @ in PREFIX
    assert _settable(fed)
    fed(":boss!b@h MODE #chan -q+l me 10", ":boss!b@h MODE #chan -t")
    assert _settable(fed)  # anyone may set the topic of a -t channel
    fed(":boss!b@h MODE #chan +t")
    assert not _settable(fed)


def test_a_channel_that_says_it_is_not_t_lets_anyone_set_the_topic(fed):
    fed(":srv 324 me #chan +n", ":srv 329 me #chan 1700000000")
    assert _settable(fed)


def test_a_mode_the_user_asked_for_is_shown(fed):
    fed(":srv 324 me #chan +nt", ":srv 329 me #chan 1700000000")
    fed(":srv 324 me #chan +nst", ":srv 329 me #chan 1700000000")
    assert _replies(fed) == ["324", "329"]
    assert not _settable(fed)
