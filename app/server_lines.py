"""The sentences the server's numeric replies become: one function per numeric, in a table.

:data:`SENTENCES` maps a numeric's code to a function of its parameters (those after our
own nick) that returns the sentence a person reads: ``251 :There are 2 users and 0
invisible on 1 servers`` is "2 users on 1 server". A numeric the table does not know, or
one whose parameters do not fit, shows its own text (:func:`own_text`). Pure: no I/O, no
state; times are shown in local time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from server.protocol.numerics import (
    ERR_BADCHANNELKEY,
    ERR_BANNEDFROMCHAN,
    ERR_CANNOTSENDTOCHAN,
    ERR_CHANNELISFULL,
    ERR_CHANOPRIVSNEEDED,
    ERR_INPUTTOOLONG,
    ERR_INVITEONLYCHAN,
    ERR_NEEDMOREPARAMS,
    ERR_NOMOTD,
    ERR_NOOPERHOST,
    ERR_NOPRIVILEGES,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOSUCHSERVER,
    ERR_NOTEXTTOSEND,
    ERR_NOTONCHANNEL,
    ERR_TOOMANYCHANNELS,
    ERR_UNKNOWNCOMMAND,
    ERR_UNKNOWNMODE,
    ERR_USERNOTINCHANNEL,
    ERR_USERONCHANNEL,
    ERR_USERSDONTMATCH,
    ERR_WASNOSUCHNICK,
    RPL_AWAY,
    RPL_CHANNELMODEIS,
    RPL_CREATED,
    RPL_CREATIONTIME,
    RPL_ENDOFWHO,
    RPL_GLOBALUSERS,
    RPL_INVITING,
    RPL_ISON,
    RPL_ISUPPORT,
    RPL_LIST,
    RPL_LISTEND,
    RPL_LISTSTART,
    RPL_LOCALUSERS,
    RPL_LOGGEDIN,
    RPL_LOGGEDOUT,
    RPL_LUSERCHANNELS,
    RPL_LUSERCLIENT,
    RPL_LUSERME,
    RPL_LUSEROP,
    RPL_LUSERUNKNOWN,
    RPL_MOTD,
    RPL_MYINFO,
    RPL_NOTOPIC,
    RPL_NOWAWAY,
    RPL_SASLSUCCESS,
    RPL_TIME,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
    RPL_UMODEIS,
    RPL_UNAWAY,
    RPL_VERSION,
    RPL_VISIBLEHOST,
    RPL_WELCOME,
    RPL_WHOISACCOUNT,
    RPL_WHOISBOT,
    RPL_WHOISCERTFP,
    RPL_WHOISCHANNELS,
    RPL_WHOISIDLE,
    RPL_WHOISOPERATOR,
    RPL_WHOISSECURE,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
    RPL_WHOWASUSER,
    RPL_YOUREOPER,
    RPL_YOURHOST,
    Numeric,
)

Args = Sequence[str]
Sentence = Callable[[Args], str]

#: What each ISUPPORT limit is about, as "<what> up to <n> characters".
_LENGTHS = {
    "NICKLEN": "nicks",
    "CHANNELLEN": "channel names",
    "TOPICLEN": "topics",
    "AWAYLEN": "away messages",
    "KICKLEN": "kick reasons",
}
#: The usual names of channel membership modes (ISUPPORT PREFIX).
_RANKS = {"q": "owner", "a": "admin", "o": "operator", "h": "half-operator", "v": "voice"}
#: ISUPPORT tokens said in other words, or not worth a word.
_TOLD = {
    *_LENGTHS,
    "NETWORK",
    "CHANTYPES",
    "CHANLIMIT",
    "PREFIX",
    "TARGMAX",
    "MODES",
    "CHATHISTORY",
    "UTF8ONLY",
    "MONITOR",
    "CASEMAPPING",
    "CHANMODES",
    "STATUSMSG",
    "MAXLIST",
    "MSGREFTYPES",
    "USERLEN",
    "NAMELEN",
}


def own_text(args: Args) -> str:
    """What a numeric says in its own words: its last parameter, after the others."""
    *middle, last = [*args] or [""]
    names = " ".join(a for a in middle if a and a != "*")
    if names and last:
        return f"{names}: {last}"
    return last or names


def sentence(code: str, args: Args) -> str:
    """The sentence for the numeric ``code`` with ``args`` (the parameters after our nick)."""
    make = SENTENCES.get(code)
    if make is None:
        return own_text(args)
    try:
        return make(args)
    except (IndexError, ValueError):  # parameters that do not fit: the server's own text
        return own_text(args)


def plural(count: int | str, word: str, words: str = "") -> str:
    """``1 user``, ``2 users`` (``words`` when the plural is not ``word + "s"``)."""
    number = int(count)
    return f"{number} {word if number == 1 else words or word + 's'}"


def moment(epoch: str) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM`` in local time."""
    when = datetime.fromtimestamp(int(epoch), timezone.utc).astimezone()
    return when.strftime("%Y-%m-%d %H:%M")


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def _nick_of(source: str) -> str:
    return source.split("!", 1)[0]


# --- the registration burst ----------------------------------------------------------
def _welcome(args: Args) -> str:
    found = re.match(
        r"Welcome to the (.+?) (?:Internet Relay Chat |IRC )?Network,? ([^\s!]+)", args[-1]
    )
    return f"Welcome to {found[1]}, {found[2]}" if found else args[-1]


def _your_host(args: Args) -> str:
    found = re.match(r"Your host is ([^,\s]+),? running version (\S+)", args[-1])
    return f"Your server is {found[1]}, running {found[2]}" if found else args[-1]


def _created(args: Args) -> str:
    found = re.match(r"This server was created (.+)", args[-1])
    return f"The server was created {found[1]}" if found else args[-1]


def _my_info(args: Args) -> str:
    return f"{args[0]} runs {args[1]} (user modes {args[2]}, channel modes {args[3]})"


def isupport_text(tokens: Args) -> str:
    """What the ISUPPORT tokens (``NICKLEN=30``, ``CHANTYPES=#&``, ...) allow, in one line."""
    values: dict[str, str] = {}
    for token in tokens:
        if token and not token.startswith("-") and " " not in token:
            name, _, value = token.partition("=")
            values[name.upper()] = value
    allows = [
        f"{what} up to {plural(values[name], 'character')}"
        for name, what in _LENGTHS.items()
        if values.get(name, "").isdigit()
    ]
    if values.get("CHANTYPES"):
        allows.insert(1, f"channels starting with {' or '.join(values['CHANTYPES'])}")
    for pair in values.get("CHANLIMIT", "").split(","):
        limit = pair.partition(":")[2]
        if limit.isdigit():
            allows.append(f"{plural(limit, 'channel')} per person")
    for pair in values.get("TARGMAX", "").split(","):
        command, _, limit = pair.partition(":")
        if command.upper() == "PRIVMSG" and limit.isdigit():
            allows.append(f"messages to {plural(limit, 'target')} at once")
    if values.get("MODES", "").isdigit():
        allows.append(f"{plural(values['MODES'], 'mode change')} per command")
    prefix = re.fullmatch(r"\(([^)]*)\)(.*)", values.get("PREFIX", ""))
    if prefix and len(prefix[1]) == len(prefix[2]) and prefix[1]:
        ranks = [f"{p} {_RANKS.get(m, m)}" for m, p in zip(prefix[1], prefix[2], strict=True)]
        allows.append("ranks " + ", ".join(ranks))
    if values.get("CHATHISTORY", "").isdigit():
        allows.append(f"history in pages of {values['CHATHISTORY']}")
    if "UTF8ONLY" in values:
        allows.append("UTF-8 text only")
    network = values.get("NETWORK", "")
    text = f"The {network} server" if network else "The server"
    text += (" allows " + ", ".join(allows)) if allows else " told its features"
    others = [name for name in values if name not in _TOLD]
    if others:
        text += "; it also supports " + " ".join(others)
    return text + "."


# --- LUSERS --------------------------------------------------------------------------
def _luser_client(args: Args) -> str:
    users, invisible, servers = _numbers(args[-1])[:3]
    hidden = f" ({invisible} invisible)" if invisible else ""
    return f"{plural(users + invisible, 'user')}{hidden} on {plural(servers, 'server')}"


def _luser_me(args: Args) -> str:
    clients, servers = _numbers(args[-1])[:2]
    text = f"This server has {plural(clients, 'client')}"
    return text + (f" and is linked to {plural(servers, 'server')}" if servers else "")


def _users_now(where: str) -> Sentence:
    def say(args: Args) -> str:
        counts = [int(a) for a in args[:-1] if a.isdigit()] or _numbers(args[-1])
        now, most = counts[:2]
        return f"{plural(now, 'user')} {where} now, {most} at most"

    return say


# --- WHOIS, WHO and friends ----------------------------------------------------------
def _whois_idle(args: Args) -> str:
    idle = int(args[1])
    text = f"{args[0]} has been idle {idle // 60} min {idle % 60} s"
    if len(args) >= 4 and args[2].isdigit():
        text += f", connected since {moment(args[2])}"
    return text


def _who_reply(args: Args) -> str:
    channel, user, host, _server, nick, flags = args[:6]
    realname = args[6].partition(" ")[2] if len(args) > 6 else ""
    where = f" on {channel}" if channel != "*" else ""
    marks = [
        word
        for flag, word in (("G", "away"), ("*", "IRC operator"), ("@", "channel operator"))
        if flag in flags
    ]
    text = f"{nick} ({user}@{host}){where}"
    text += f": {realname}" if realname else ""
    return text + (f" — {', '.join(marks)}" if marks else "")


def _channel_modes(args: Args) -> str:
    modes = " ".join(args[1:])
    return f"{args[0]} has no modes set" if modes in ("", "+") else f"{args[0]} has modes {modes}"


def _topic_who_time(args: Args) -> str:
    return f"The topic of {args[0]} was set by {_nick_of(args[1])} on {moment(args[2])}"


def _list(args: Args) -> str:
    topic = f": {args[2]}" if len(args) > 2 and args[2] else ""
    return f"{args[0]} ({plural(args[1], 'user')}){topic}"


def _time(args: Args) -> str:
    return f"The time on {args[0]} is {args[-1]}"


def _version(args: Args) -> str:
    comments = f" ({args[2]})" if len(args) > 2 and args[2] else ""
    return f"{args[1]} runs {args[0]}{comments}"


def _ison(args: Args) -> str:
    nicks = args[-1].split()
    return "Online: " + ", ".join(nicks) if nicks else "None of them is online"


def _motd(args: Args) -> str:
    line = args[-1]
    return line[2:] if line.startswith("- ") else line.removeprefix("-")


def _first(template: str) -> Sentence:
    """A sentence about the first parameter (a nick, a channel, a command) and its text."""

    def say(args: Args) -> str:
        if len(args) < 2:
            raise IndexError("the parameter and the numeric's text are both wanted")
        return template.format(args[0])

    return say


def _fixed(text: str) -> Sentence:
    return lambda _args: text


#: The numeric's code -> the function that makes its sentence from its parameters.
_TABLE: dict[Numeric, Sentence] = {
    RPL_WELCOME: _welcome,
    RPL_YOURHOST: _your_host,
    RPL_CREATED: _created,
    RPL_MYINFO: _my_info,
    RPL_ISUPPORT: lambda args: isupport_text(args[:-1] if len(args) > 1 else args),
    RPL_UMODEIS: lambda args: f"Your user modes are {args[0]}",
    RPL_LUSERCLIENT: _luser_client,
    RPL_LUSEROP: lambda args: f"{plural(args[0], 'operator')} online",
    RPL_LUSERUNKNOWN: lambda args: f"{plural(args[0], 'connection')} not signed on yet",
    RPL_LUSERCHANNELS: lambda args: f"{plural(args[0], 'channel')} in use",
    RPL_LUSERME: _luser_me,
    RPL_LOCALUSERS: _users_now("on this server"),
    RPL_GLOBALUSERS: _users_now("on the network"),
    RPL_MOTD: _motd,
    ERR_NOMOTD: _fixed("The server has no message of the day"),
    RPL_AWAY: lambda args: f"{args[0]} is away: {args[1]}",
    RPL_UNAWAY: _fixed("You are back: no longer marked as away"),
    RPL_NOWAWAY: _fixed("You are marked as away"),
    RPL_WHOISUSER: lambda args: f"{args[0]} is {args[1]}@{args[2]} ({args[4]})",
    RPL_WHOISSERVER: lambda args: f"{args[0]} is on {args[1]} ({args[2]})",
    RPL_WHOISOPERATOR: _first("{} is an IRC operator"),
    RPL_WHOWASUSER: lambda args: f"{args[0]} was {args[1]}@{args[2]} ({args[4]})",
    RPL_ENDOFWHO: _first("End of the WHO list for {}"),
    RPL_WHOISIDLE: _whois_idle,
    RPL_WHOISCHANNELS: lambda args: f"{args[0]} is in {args[1]}",
    RPL_WHOISACCOUNT: lambda args: f"{args[0]} is signed in as {args[1]}",
    RPL_WHOISSECURE: _first("{} uses a secure connection"),
    RPL_WHOISBOT: _first("{} is a bot"),
    RPL_WHOISCERTFP: lambda args: (
        f"{args[0]}'s client certificate has the fingerprint {args[1].split()[-1]}"
    ),
    RPL_LISTSTART: _fixed("Channels (users): topic"),
    RPL_LIST: _list,
    RPL_LISTEND: _fixed("End of the channel list"),
    RPL_CHANNELMODEIS: _channel_modes,
    RPL_CREATIONTIME: lambda args: f"{args[0]} was created {moment(args[1])}",
    RPL_NOTOPIC: _first("{} has no topic"),
    RPL_TOPIC: lambda args: f"The topic of {args[0]} is: {args[1]}",
    RPL_TOPICWHOTIME: _topic_who_time,
    RPL_INVITING: lambda args: f"You invited {args[0]} to {args[1]}",
    RPL_WHOREPLY: _who_reply,
    RPL_VERSION: _version,
    RPL_YOUREOPER: _fixed("You are now an IRC operator"),
    RPL_TIME: _time,
    RPL_VISIBLEHOST: lambda args: f"Your host is now shown as {args[0]}",
    RPL_ISON: _ison,
    RPL_LOGGEDIN: lambda args: f"You are signed in as {args[1]}",
    RPL_LOGGEDOUT: _fixed("You are signed out"),
    RPL_SASLSUCCESS: _fixed("Signed in"),
    # --- the errors that come back to a command ---
    ERR_NOSUCHNICK: _first("There is no nick or channel called {}"),
    ERR_NOSUCHSERVER: _first("There is no server called {}"),
    ERR_NOSUCHCHANNEL: _first("There is no channel called {}"),
    ERR_CANNOTSENDTOCHAN: lambda args: f"Your message to {args[0]} was not sent: {args[1]}",
    ERR_TOOMANYCHANNELS: _first("You cannot join {}: you are in too many channels"),
    ERR_WASNOSUCHNICK: _first("Nobody was called {}"),
    ERR_NOTEXTTOSEND: _fixed("There was no text to send"),
    ERR_INPUTTOOLONG: _fixed("That line was too long for the server"),
    ERR_UNKNOWNCOMMAND: _first("The server does not know the command {}"),
    ERR_USERNOTINCHANNEL: lambda args: f"{args[0]} is not in {args[1]}",
    ERR_NOTONCHANNEL: _first("You are not in {}"),
    ERR_USERONCHANNEL: lambda args: f"{args[0]} is already in {args[1]}",
    ERR_NEEDMOREPARAMS: _first("{} needs more parameters"),
    ERR_CHANNELISFULL: _first("You cannot join {}: it is full"),
    ERR_UNKNOWNMODE: _first("The server does not know the mode {}"),
    ERR_INVITEONLYCHAN: _first("You cannot join {}: it is invite-only"),
    ERR_BANNEDFROMCHAN: _first("You cannot join {}: you are banned from it"),
    ERR_BADCHANNELKEY: _first("You cannot join {}: it needs the right key"),
    ERR_NOPRIVILEGES: _fixed("Only an IRC operator may do that"),
    ERR_CHANOPRIVSNEEDED: _first("Only an operator of {} may do that"),
    ERR_NOOPERHOST: _fixed("This server lets nobody become an IRC operator from your host"),
    ERR_USERSDONTMATCH: _fixed("You can only change your own user modes"),
}
SENTENCES: dict[str, Sentence] = {numeric.code: make for numeric, make in _TABLE.items()}
