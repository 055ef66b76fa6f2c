"""Flood control: the token bucket alone with a fake clock, then over real sockets
with the server's clock and sleep replaced, so no test waits for real."""

from __future__ import annotations

from server.flood import TokenBucket
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient


def test_bucket_allows_a_burst_then_the_rate() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=2.0, burst=3, excess=5, clock=fake.clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == 0.5  # one line in debt: half a second at 2 lines/s
    assert bucket.take() == 1.0
    fake.now += 1.0  # two lines' worth of refill pays the debt back
    assert bucket.take() == 0.5


def test_bucket_refills_only_up_to_the_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=1.0, burst=2, excess=5, clock=fake.clock)
    fake.now += 3600
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_bucket_reports_excess() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=1.0, burst=1, excess=3, clock=fake.clock)
    results = [bucket.take() for _ in range(6)]
    assert results[:4] == [0.0, 1.0, 2.0, 3.0]
    assert results[4] is None


def _pair(server) -> tuple[IRCClient, IRCClient]:
    talker, listener = IRCClient(server.port), IRCClient(server.port)
    talker.register("talker")
    listener.register("listener")
    return talker, listener


def test_lines_past_the_burst_are_delayed_not_lost(make_server) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, flood_burst=30, flood_rate=2.0)
    talker, listener = _pair(server)
    fake.slept.clear()
    talker.send(*(f"PRIVMSG #general :line {i}" for i in range(40)))
    got = [listener.expect("PRIVMSG").params[1] for _ in range(40)]
    assert got == [f"line {i}" for i in range(40)]
    # The registration burst used a few tokens; what is over 30 waited at 2 lines/s.
    assert 4.0 <= sum(fake.slept) <= 8.0
    talker.close()
    listener.close()


def test_a_client_that_keeps_flooding_is_dropped(make_server) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, flood_burst=10, flood_rate=1.0, flood_excess=20
    )
    talker, listener = _pair(server)
    talker.send(*(f"PRIVMSG #general :spam {i}" for i in range(200)))
    closing = talker.wait_closed()
    assert closing[-1].command == "ERROR" and "Excess Flood" in closing[-1].params[0]
    quit_ = listener.expect("QUIT")
    assert quit_.source.startswith("talker!") and quit_.params == ["Excess Flood"]
    listener.send("PING :still here")
    assert listener.expect("PONG").params[-1] == "still here"
    listener.close()


def test_operators_are_exempt(make_server) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock,
        sleep=fake.sleep,
        flood_burst=5,
        flood_rate=1.0,
        flood_excess=10,
        opers={"root": "pw"},
    )
    talker, listener = _pair(server)
    talker.send("OPER root pw")
    talker.expect("381")
    fake.slept.clear()
    talker.send(*(f"PRIVMSG #general :announcement {i}" for i in range(50)))
    assert [listener.expect("PRIVMSG").params[1] for _ in range(50)][-1] == "announcement 49"
    assert fake.slept == []
    talker.close()
    listener.close()


def test_flood_rate_zero_turns_it_off(make_server) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, flood_rate=0)
    talker, listener = _pair(server)
    talker.send(*(f"PRIVMSG #general :fast {i}" for i in range(500)))
    assert [listener.expect("PRIVMSG").params[1] for _ in range(500)][-1] == "fast 499"
    assert fake.slept == []
    talker.close()
    listener.close()
