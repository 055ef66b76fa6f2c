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


def _away(fed: Fed) -> dict[str, str]:
    return dict(fed.log.of(Kind.MEMBERS, conversation="#Chan")[-1].away)


def test_who_is_away_from_away_notify_who_flags_and_301(fed):
    fed(":bob!b@h AWAY :at lunch")
    assert _away(fed) == {"bob": "at lunch"}
    fed(":srv 352 me #chan b h srv boss G~ :0 Boss")  # WHO: away, no text given
    assert _away(fed) == {"bob": "at lunch", "boss": ""}
    fed(":srv 301 me boss :in a meeting")  # the text, when we write to boss or WHOIS
    assert _away(fed)["boss"] == "in a meeting"
    fed(":srv 352 me #chan b h srv boss G~ :0 Boss")  # the text we know is kept
    assert _away(fed)["boss"] == "in a meeting"
    fed(":bob!b@h NICK :Robert")
    assert _away(fed) == {"Robert": "at lunch", "boss": "in a meeting"}
    fed(":Robert!b@h AWAY", ":srv 352 me #chan b h srv boss H~ :0 Boss")  # both back
    assert _away(fed) == {}
    assert _replies(fed) == ["352", "301", "352", "352"]
    fed(":boss!b@h AWAY :gone fishing", ":boss!b@h PART #chan")
    fed(":boss!b@h JOIN #chan")  # back in, and back from away: no AWAY says so
    assert _away(fed) == {}  # what we knew went with the last shared channel
    fed(":boss!b@h AWAY :again", ":boss!b@h QUIT :bye", ":boss!b@h JOIN #chan")
    assert _away(fed) == {}
    fed(":srv 306 me :You have been marked as being away")  # ourselves: no AWAY comes
    assert _away(fed) == {"me": ""}
    fed(":srv 305 me :You are no longer marked as being away")
    assert _away(fed) == {}


def test_the_who_asked_on_join_says_who_is_away_and_signed_in():
    session = Session(nick="me")
    session.registered = True
    feed = Fed(session)
    feed(":srv 005 me WHOX :are supported", ":me!u@h JOIN #c")
    assert "WHO #c %tnfa,913" in feed.sent
    feed(
        ":srv 353 me = #c :me carol dave",
        ":srv 366 me #c :End",
        ":srv 354 me 913 carol G carol",
        ":srv 354 me 913 dave H@ 0",
        ":srv 315 me #c :End of WHO",
    )
    last = feed.log.of(Kind.MEMBERS, conversation="#c")[-1]
    assert dict(last.away) == {"carol": ""} and last.signed_in == frozenset({"carol"})
    assert not _replies(feed)
