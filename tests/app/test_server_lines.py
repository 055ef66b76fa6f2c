"""The server's numerics as sentences (table-driven), and the session's replies that carry
them: the ISUPPORT lines of the burst folded into one, the raw line kept, server notices."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.events import Kind
from app.server_lines import SENTENCES, isupport_text, own_text, sentence
from app.session import Session
from server.protocol import numerics as n
from tests.app.helpers import Fed

EPOCH = "1796141957"
LOCAL = datetime.fromtimestamp(int(EPOCH), timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")

# (numeric, its parameters after our nick, the sentence shown)
CASES = [
    (
        n.RPL_WELCOME,
        ["Welcome to the Kibitz Network, alice!~alice@127.0.0.1"],
        "Welcome to Kibitz, alice",
    ),
    (
        n.RPL_WELCOME,
        ["Welcome to the Libera.Chat Internet Relay Chat Network bob"],
        "Welcome to Libera.Chat, bob",
    ),
    (n.RPL_WELCOME, ["Hi there"], "Hi there"),
    (
        n.RPL_YOURHOST,
        ["Your host is vm, running version kibitz-0.1.0"],
        "Your server is vm, running kibitz-0.1.0",
    ),
    (
        n.RPL_CREATED,
        ["This server was created 2026-12-01 16:19:12 UTC"],
        "The server was created 2026-12-01 16:19:12 UTC",
    ),
    (
        n.RPL_MYINFO,
        ["vm", "kibitz-0.1.0", "Biorw", "Ibeiklmnorstv", "beIklov"],
        "vm runs kibitz-0.1.0 (user modes Biorw, channel modes Ibeiklmnorstv)",
    ),
    (n.RPL_UMODEIS, ["+iw"], "Your user modes are +iw"),
    (n.RPL_LUSERCLIENT, ["There are 2 users and 0 invisible on 1 servers"], "2 users on 1 server"),
    (n.RPL_LUSERCLIENT, ["There are 1 users and 0 invisible on 1 servers"], "1 user on 1 server"),
    (
        n.RPL_LUSERCLIENT,
        ["There are 3 users and 2 invisible on 4 servers"],
        "5 users (2 invisible) on 4 servers",
    ),
    (n.RPL_LUSEROP, ["1", "operator(s) online"], "1 operator online"),
    (n.RPL_LUSEROP, ["0", "operator(s) online"], "0 operators online"),
    (n.RPL_LUSERUNKNOWN, ["2", "unknown connection(s)"], "2 connections not signed on yet"),
    (n.RPL_LUSERCHANNELS, ["1", "channels formed"], "1 channel in use"),
    (n.RPL_LUSERME, ["I have 2 clients and 0 servers"], "This server has 2 clients"),
    (
        n.RPL_LUSERME,
        ["I have 1 clients and 2 servers"],
        "This server has 1 client and is linked to 2 servers",
    ),
    (
        n.RPL_LOCALUSERS,
        ["2", "5", "Current local users 2, max 5"],
        "2 users on this server now, 5 at most",
    ),
    (n.RPL_LOCALUSERS, ["Current local users: 1  Max: 3"], "1 user on this server now, 3 at most"),
    (
        n.RPL_GLOBALUSERS,
        ["1", "1", "Current global users 1, max 1"],
        "1 user on the network now, 1 at most",
    ),
    (n.RPL_MOTD, ["- Be kind to each other"], "Be kind to each other"),
    (n.RPL_MOTD, ["-"], ""),
    (n.ERR_NOMOTD, ["MOTD File is missing"], "The server has no message of the day"),
    (n.RPL_AWAY, ["bob", "at lunch"], "bob is away: at lunch"),
    (n.RPL_UNAWAY, [n.RPL_UNAWAY.text], "You are back: no longer marked as away"),
    (n.RPL_NOWAWAY, [n.RPL_NOWAWAY.text], "You are marked as away"),
    (n.RPL_WHOISUSER, ["bob", "~bob", "10.0.0.2", "*", "Bob B"], "bob is ~bob@10.0.0.2 (Bob B)"),
    (n.RPL_WHOISSERVER, ["bob", "vm", "Kibitz server"], "bob is on vm (Kibitz server)"),
    (n.RPL_WHOISOPERATOR, ["bob", "is an IRC operator"], "bob is an IRC operator"),
    (n.RPL_WHOWASUSER, ["bob", "~bob", "h", "*", "Bob B"], "bob was ~bob@h (Bob B)"),
    (
        n.RPL_WHOISIDLE,
        ["bob", "75", EPOCH, "seconds idle, signon time"],
        f"bob has been idle 1 min 15 s, connected since {LOCAL}",
    ),
    (n.RPL_WHOISCHANNELS, ["bob", "@#general #dev"], "bob is in @#general #dev"),
    (n.RPL_WHOISACCOUNT, ["bob", "bobby", "is logged in as"], "bob is signed in as bobby"),
    (n.RPL_WHOISSECURE, ["bob", "is using a secure connection"], "bob uses a secure connection"),
    (
        n.RPL_WHOISCERTFP,
        ["bob", "has client certificate fingerprint ab12"],
        "bob's client certificate has the fingerprint ab12",
    ),
    (n.RPL_ENDOFWHO, ["#general", "End of WHO list"], "End of the WHO list for #general"),
    (
        n.RPL_WHOREPLY,
        ["#general", "~bob", "h", "vm", "bob", "G@", "0 Bob B"],
        "bob (~bob@h) on #general: Bob B — away, channel operator",
    ),
    (n.RPL_WHOREPLY, ["*", "~bob", "h", "vm", "bob", "H", "0 Bob"], "bob (~bob@h): Bob"),
    (n.RPL_CHANNELMODEIS, ["#general", "+ntl", "10"], "#general has modes +ntl 10"),
    (n.RPL_CHANNELMODEIS, ["#general", "+"], "#general has no modes set"),
    (n.RPL_CREATIONTIME, ["#general", EPOCH], f"#general was created {LOCAL}"),
    (n.RPL_NOTOPIC, ["#dev", "No topic is set"], "#dev has no topic"),
    (n.RPL_TOPIC, ["#dev", "ship it"], "The topic of #dev is: ship it"),
    (
        n.RPL_TOPICWHOTIME,
        ["#dev", "bob!b@h", EPOCH],
        f"The topic of #dev was set by bob on {LOCAL}",
    ),
    (n.RPL_INVITING, ["bob", "#dev"], "You invited bob to #dev"),
    (n.RPL_LIST, ["#dev", "3", "ship it"], "#dev (3 users): ship it"),
    (
        n.RPL_VERSION,
        ["kibitz-0.1.0", "vm", "Kibitz server"],
        "vm runs kibitz-0.1.0 (Kibitz server)",
    ),
    (n.RPL_YOUREOPER, [n.RPL_YOUREOPER.text], "You are now an IRC operator"),
    (
        n.RPL_TIME,
        ["vm", "Tuesday, 01 December 2026 16:19:18 +0000"],
        "The time on vm is Tuesday, 01 December 2026 16:19:18 +0000",
    ),
    (n.RPL_VISIBLEHOST, ["user/bob", n.RPL_VISIBLEHOST.text], "Your host is now shown as user/bob"),
    (n.RPL_ISON, ["alice bob"], "Online: alice, bob"),
    (
        n.RPL_LOGGEDIN,
        ["alice!a@h", "alice", "You are now logged in as alice"],
        "You are signed in as alice",
    ),
    (n.RPL_SASLSUCCESS, [n.RPL_SASLSUCCESS.text], "Signed in"),
    (
        n.ERR_NOSUCHNICK,
        ["nobody", n.ERR_NOSUCHNICK.text],
        "There is no nick or channel called nobody",
    ),
    (
        n.ERR_CANNOTSENDTOCHAN,
        ["#dev", "Cannot send to channel (+m)"],
        "Your message to #dev was not sent: Cannot send to channel (+m)",
    ),
    (
        n.ERR_UNKNOWNCOMMAND,
        ["FOO", n.ERR_UNKNOWNCOMMAND.text],
        "The server does not know the command FOO",
    ),
    (n.ERR_NOTONCHANNEL, ["#dev", n.ERR_NOTONCHANNEL.text], "You are not in #dev"),
    (n.ERR_USERNOTINCHANNEL, ["bob", "#dev", n.ERR_USERNOTINCHANNEL.text], "bob is not in #dev"),
    (n.ERR_NEEDMOREPARAMS, ["JOIN", n.ERR_NEEDMOREPARAMS.text], "JOIN needs more parameters"),
    (
        n.ERR_INVITEONLYCHAN,
        ["#dev", n.ERR_INVITEONLYCHAN.text],
        "You cannot join #dev: it is invite-only",
    ),
    (
        n.ERR_BADCHANNELKEY,
        ["#dev", n.ERR_BADCHANNELKEY.text],
        "You cannot join #dev: it needs the right key",
    ),
    (
        n.ERR_CHANOPRIVSNEEDED,
        ["#dev", n.ERR_CHANOPRIVSNEEDED.text],
        "Only an operator of #dev may do that",
    ),
    (n.ERR_NOPRIVILEGES, [n.ERR_NOPRIVILEGES.text], "Only an IRC operator may do that"),
    # What the table does not know shows its own words; parameters that do not fit too.
    (n.ERR_PASSWDMISMATCH, [n.ERR_PASSWDMISMATCH.text], "Password incorrect"),
    (n.RPL_INFO, ["vm serves the Kibitz network."], "vm serves the Kibitz network."),
    (n.Numeric("999"), ["a", "b", "something odd"], "a b: something odd"),
    (n.Numeric("998"), ["#dev", "3", ""], "#dev 3"),
    (n.RPL_LUSERCLIENT, ["There are many users"], "There are many users"),
    (n.RPL_WHOISIDLE, ["bob", "soon", "seconds idle"], "bob soon: seconds idle"),
    (n.RPL_AWAY, ["bob"], "bob"),
]


@pytest.mark.parametrize(("numeric", "args", "expected"), CASES)
def test_each_numeric_reads_as_a_sentence(numeric, args, expected):
    assert sentence(numeric.code, args) == expected


def test_every_sentence_survives_any_parameters():
    for code in SENTENCES:
        for args in ([], [""], ["x"], ["x", "y"], ["1", "2", "3", "4", "5", "6", "7", "8"]):
            assert isinstance(sentence(code, args), str)


def test_isupport_reads_as_one_line():
    tokens = [
        "AWAYLEN=200",
        "CASEMAPPING=ascii",
        "CHANLIMIT=#:50",
        "CHANNELLEN=64",
        "CHANTYPES=#&",
        "CHATHISTORY=100",
        "ELIST=CMNTU",
        "MODES=4",
        "NETWORK=Kibitz",
        "NICKLEN=30",
        "PREFIX=(ov)@+",
        "TARGMAX=NOTICE:4,PRIVMSG:4,JOIN:",
        "TOPICLEN=390",
        "UTF8ONLY",
        "WHOX",
        "-EXCEPTS",
    ]
    assert isupport_text(tokens) == (
        "The Kibitz server allows nicks up to 30 characters, channels starting with # or &, "
        "channel names up to 64 characters, topics up to 390 characters, away messages up to "
        "200 characters, 50 channels per person, messages to 4 targets at once, 4 mode "
        "changes per command, ranks @ operator, + voice, history in pages of 100, UTF-8 text "
        "only; it also supports ELIST WHOX."
    )
    assert isupport_text([]) == "The server told its features."
    assert sentence(n.RPL_ISUPPORT.code, ["NICKLEN=9", n.RPL_ISUPPORT.text]) == (
        "The server allows nicks up to 9 characters."
    )


def test_own_text_is_the_last_parameter_after_the_others():
    assert own_text([]) == ""
    assert own_text(["just text"]) == "just text"
    assert own_text(["*", "x", "y z"]) == "x: y z"


@pytest.fixture
def fed() -> Fed:
    return Fed(Session("alice"))


BURST = [
    ":vm NOTICE * :*** Looking up your hostname",
    ":vm 001 alice :Welcome to the Kibitz Network, alice!~alice@127.0.0.1",
    ":vm 002 alice :Your host is vm, running version kibitz-0.1.0",
    ":vm 005 alice NICKLEN=30 CHANTYPES=# :are supported by this server",
    ":vm 005 alice NETWORK=Kibitz WHOX :are supported by this server",
    ":vm 251 alice :There are 1 users and 0 invisible on 1 servers",
    ":vm 422 alice :MOTD File is missing",
]


def test_the_burst_s_isupport_lines_are_one_reply_with_every_raw_line(fed):
    fed(*BURST)
    replies = fed.log.of(Kind.REPLY)
    assert [r.code for r in replies] == ["001", "002", "005", "251", "422"]
    welcome, _, isupport, lusers, nomotd = replies
    assert welcome.raw == BURST[1] and lusers.raw == BURST[5]
    assert isupport.raw == "\n".join(BURST[3:5])
    assert isupport.args == (
        "NICKLEN=30",
        "CHANTYPES=#",
        "NETWORK=Kibitz",
        "WHOX",
        n.RPL_ISUPPORT.text,
    )
    assert all(r.conversation == "" for r in replies)  # the server conversation
    assert not nomotd.error
    # Later ISUPPORT lines (an answer to VERSION) are each shown at once.
    fed(":vm 005 alice MODES=4 :are supported by this server")
    assert fed.log.of(Kind.REPLY)[-1].args == ("MODES=4", n.RPL_ISUPPORT.text)
    # The answer to a command goes where the user is looking, raw line and all.
    fed(":vm 341 alice bob #dev")
    inviting = fed.log.of(Kind.REPLY)[-1]
    assert (inviting.conversation, inviting.raw) == (None, ":vm 341 alice bob #dev")


def test_a_notice_from_the_server_itself_is_marked_but_not_before_registration(fed):
    fed(BURST[0])
    early = fed.log.expect(Kind.MESSAGE, notice=True)
    assert not early.server and early.conversation == ""
    fed(*BURST[1:])
    fed(":vm NOTICE alice :Maintenance at noon", ":vm NOTICE $* :Restart in 5 minutes")
    for text in ("Maintenance at noon", "Restart in 5 minutes"):
        assert fed.log.expect(Kind.MESSAGE, text=text).server
    # A user's notice, a service's and a notice to a channel are not the server's.
    fed(
        ":bob!b@h NOTICE alice :psst",
        ":NickServ!NickServ@vm NOTICE alice :You are now identified",
        ":vm NOTICE #general :channel news",
    )
    for text in ("psst", "You are now identified", "channel news"):
        assert not fed.log.expect(Kind.MESSAGE, text=text).server
