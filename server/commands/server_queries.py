"""Server queries: VERSION, TIME, ADMIN, INFO, LINKS, STATS, HELP/HELPOP, and the help texts.

Kibitz is a network of one server: a query naming this server (a glob matching its name, or
the nick of a user connected here) is answered, any other target gets ERR_NOSUCHSERVER.
"""

from __future__ import annotations

import platform
import time
from datetime import datetime
from typing import TYPE_CHECKING

from ..protocol.codec import Message
from ..protocol.names import matches
from ..protocol.numerics import (
    ERR_HELPNOTFOUND,
    ERR_NEEDMOREPARAMS,
    ERR_NOSUCHSERVER,
    RPL_ADMINEMAIL,
    RPL_ADMINLOC1,
    RPL_ADMINLOC2,
    RPL_ADMINME,
    RPL_ENDOFHELP,
    RPL_ENDOFINFO,
    RPL_ENDOFLINKS,
    RPL_ENDOFSTATS,
    RPL_HELPSTART,
    RPL_HELPTXT,
    RPL_INFO,
    RPL_LINKS,
    RPL_STATSUPTIME,
    RPL_TIME,
    RPL_VERSION,
)
from .registration import send_isupport
from .table import COMMANDS, command

if TYPE_CHECKING:
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

# Not in numerics.py yet: "<client> <server name> :No such server" (Modern IRC).

#: RPL_ISUPPORT carries at most 13 tokens; 12 leaves room, as in the welcome burst.
#: Width the index of commands is wrapped to in HELP.
_HELP_WIDTH = 60

#: One topic per command: the syntax first, then what it does. A command in ``COMMANDS``
#: without a topic here fails the test suite.
HELP_TOPICS: dict[str, tuple[str, ...]] = {
    "ADMIN": (
        "ADMIN [<server>]",
        "Shows who runs this server: its location and the administrator's email.",
    ),
    "AUTHENTICATE": (
        "AUTHENTICATE <mechanism> | AUTHENTICATE <base64> | AUTHENTICATE * (after CAP REQ sasl)",
        "Signs in to an account with SASL: PLAIN, SCRAM-SHA-256, or EXTERNAL by",
        "TLS client certificate. The response goes in base64 chunks of 400",
        "bytes; '+' ends one that fills its last chunk, '*' aborts.",
    ),
    "AWAY": (
        "AWAY [<message>]",
        "Marks you as away with <message>; people who message you or WHOIS you",
        "see it. AWAY with no message marks you as back.",
    ),
    "BATCH": (
        "BATCH +<ref> draft/multiline <target> ... BATCH -<ref>",
        "Sends the PRIVMSG lines tagged batch=<ref> between them as one multi-line",
        "message (IRCv3 draft/multiline; at most 4096 bytes and 100 lines).",
    ),
    "CAP": (
        "CAP LS [302] | CAP LIST | CAP REQ :<capabilities> | CAP END",
        "IRCv3 capability negotiation: LS lists what the server offers, REQ",
        "enables (or with a leading '-' disables) capabilities, LIST shows the",
        "enabled ones, END finishes negotiation during registration.",
    ),
    "CHATHISTORY": (
        "CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <msgid=id|timestamp=t|*> <limit>",
        "Fetches stored messages of a channel you are in, or of your conversation",
        "with a nick, inside a 'chathistory' batch (IRCv3 draft/chathistory). Also",
        "BETWEEN <target> <ref> <ref> <limit> and TARGETS <timestamp=t> <timestamp=t>",
        "<limit>, which lists the conversations active between two times.",
    ),
    "HELP": (
        "HELP [<command>]",
        "Shows help on <command>, or the list of commands when given none.",
    ),
    "HELPOP": (
        "HELPOP [<command>]",
        "The same as HELP.",
    ),
    "INFO": (
        "INFO",
        "Shows information about the server software.",
    ),
    "INVITE": (
        "INVITE <nick> <channel>",
        "Invites <nick> into <channel>, letting them join it even when it is",
        "invite-only (+i). You must be on the channel, and a channel operator",
        "if it is +i. INVITE with no parameters lists your pending invitations.",
    ),
    "ISON": (
        "ISON <nick>{ <nick>}",
        "Tells which of the given nicks are online.",
    ),
    "JOIN": (
        "JOIN <channel>{,<channel>} [<key>{,<key>}]",
        "Joins channels, creating those that do not exist yet (you become",
        "their operator). A channel with a key (+k) needs that key. JOIN 0",
        "leaves every channel you are on.",
    ),
    "KICK": (
        "KICK <channel> <nick>{,<nick>} [<reason>]",
        "Removes users from a channel. Channel operators only.",
    ),
    "KILL": (
        "KILL <nick> <reason>",
        "Disconnects <nick> from the server. IRC operators only.",
    ),
    "LINKS": (
        "LINKS",
        "Lists the servers of the network: here, only this one.",
    ),
    "LIST": (
        "LIST [<channel>{,<channel>}] [<condition>{,<condition>}]",
        "Lists channels with their user count and topic. Conditions: >n or <n",
        "users, a mask like #dev* (or !mask to exclude), C<n / C>n created",
        "less / more than n minutes ago, T<n / T>n topic set less / more than",
        "n minutes ago. Secret channels (+s) are listed only to their members.",
    ),
    "LUSERS": (
        "LUSERS",
        "Shows how many users, operators, unregistered connections and",
        "channels there are.",
    ),
    "MARKREAD": (
        "MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]",
        "Sets where you stopped reading in <target> (a channel or a nick), or with",
        "no timestamp asks where that is ('*': nowhere yet). It never moves back;",
        "every connection of your account is told (IRCv3 draft/read-marker).",
    ),
    "MODE": (
        "MODE <channel> [<modes> [<arguments>...]] | MODE <nick> [<modes>]",
        "Shows or changes channel modes: +o/+v give operator/voice, +b/+e/+I",
        "edit the ban, ban-exception and invite-exception lists (with no",
        "argument they are listed), +k <key>, +l <limit>, and +i invite-only,",
        "+m moderated, +n no outside messages, +s secret, +t topic by",
        "operators only. Your own user modes: +i invisible, +w receive WALLOPS,",
        "+B bot; +o comes from OPER.",
    ),
    "MONITOR": (
        "MONITOR + <nick>{,<nick>} | MONITOR - <nick>{,<nick>} | MONITOR C|L|S",
        "Watches nicks and tells you when they come online or go offline:",
        "+ adds to your list, - removes from it, C clears it, L lists it and",
        "S shows the status of every nick on it.",
    ),
    "MOTD": (
        "MOTD [<server>]",
        "Shows the message of the day.",
    ),
    "NAMES": (
        "NAMES [<channel>{,<channel>}]",
        "Lists who is on a channel, with @ for operators and + for voiced users.",
    ),
    "NICK": (
        "NICK <nick>",
        "Chooses your nickname, or changes it once registered.",
    ),
    "NICKSERV": (
        "NICKSERV <command> [<arguments>]",
        "Talks to NickServ, as /msg NickServ does: REGISTER, IDENTIFY, GHOST, INFO,",
        "PASSWD, DROP. NICKSERV HELP lists them with their syntax.",
    ),
    "NOTICE": (
        "NOTICE <target>{,<target>} :<text>",
        "Like PRIVMSG, but automatic replies and errors are never sent back;",
        "meant for bots and automated messages.",
    ),
    "NS": (
        "NS <command> [<arguments>]",
        "The same as NICKSERV.",
    ),
    "OPER": (
        "OPER <name> <password>",
        "Makes you an IRC operator (user mode +o) if <name> and <password> match",
        "an operator configured on the server.",
    ),
    "PART": (
        "PART <channel>{,<channel>} [<reason>]",
        "Leaves channels, with an optional reason shown to their members.",
    ),
    "PASS": (
        "PASS <password>",
        "Gives the server password; must be sent before NICK and USER.",
    ),
    "PING": (
        "PING <token>",
        "Asks the server to answer PONG with the same <token>, to check the",
        "connection and measure lag.",
    ),
    "PONG": (
        "PONG [<server>] <token>",
        "The answer to a PING from the server; clients send it automatically.",
    ),
    "PRIVMSG": (
        "PRIVMSG <target>{,<target>} :<text>",
        "Sends a message to users or channels. Prefix a channel with @ or + to",
        "reach only its operators or voiced users (as in @#channel).",
    ),
    "QUIT": (
        "QUIT [<reason>]",
        "Disconnects from the server; your channels see the reason.",
    ),
    "REDACT": (
        "REDACT <target> <msgid> [<reason>]",
        "Deletes a message from <target> (a channel or a nick) and its history: your",
        "own within the redaction window, or as a channel operator any of the",
        "channel's (IRCv3 draft/message-redaction).",
    ),
    "REGISTER": (
        "REGISTER <account> <email|*> <password>",
        "Creates an account named for your current nick (<account> is that nick or",
        "*) and logs you in to it, before or after connecting (IRCv3",
        "draft/account-registration). The e-mail address is optional.",
    ),
    "REHASH": (
        "REHASH",
        "Reads the server's configuration file again and applies what can",
        "change while it runs; says what needs a restart. IRC operators only.",
    ),
    "SEARCH": (
        "SEARCH <attributes>",
        "Finds stored messages of the channels you are in and of your own",
        "conversations (soju.im/search), as in=<target>;from=<nick>;after=<time>;",
        "before=<time>;text=<words>;limit=<n> (any of them, at most 100 results).",
    ),
    "SETNAME": (
        "SETNAME :<realname>",
        "Changes your realname (the setname capability tells others).",
    ),
    "STATS": (
        "STATS <letter> [<server>]",
        "Shows server statistics: STATS u gives the server's uptime.",
    ),
    "TAGMSG": (
        "TAGMSG <target>",
        "Sends only message tags (such as typing notifications) with no text;",
        "needs the message-tags capability.",
    ),
    "TIME": (
        "TIME [<server>]",
        "Shows the server's local time.",
    ),
    "TOPIC": (
        "TOPIC <channel> [:<topic>]",
        "Shows the channel topic, or sets it (only operators when the channel",
        "is +t). An empty <topic> clears it.",
    ),
    "USER": (
        "USER <username> 0 * :<realname>",
        "Gives your username and realname when registering.",
    ),
    "USERHOST": (
        "USERHOST <nick>{ <nick>}",
        "Shows user@host of up to five nicks, with * for IRC operators and",
        "+ (here) or - (away).",
    ),
    "VERIFY": (
        "VERIFY <account> <code>",
        "Completes a registration that needs a code; accounts here need none.",
    ),
    "VERSION": (
        "VERSION [<server>]",
        "Shows the server's software version and the features it supports",
        "(RPL_ISUPPORT).",
    ),
    "WALLOPS": (
        "WALLOPS :<text>",
        "Sends <text> to every user with user mode +w. IRC operators only.",
    ),
    "WHO": (
        "WHO <mask> [o][%<fields>[,<token>]]",
        "Lists the users on a channel or whose nick, user, host, server or",
        "realname matches <mask>; o lists only IRC operators. %<fields> asks",
        "for the extended WHOX reply (letters t c u i h s n f d l a o r).",
    ),
    "WHOIS": (
        "WHOIS [<server>] <nick>",
        "Shows who <nick> is: user@host, realname, channels, away message,",
        "operator status and idle time.",
    ),
    "WHOWAS": (
        "WHOWAS <nick> [<count>]",
        "Shows who last used <nick>, newest first, after they left or changed",
        "nick.",
    ),
}


def is_this_server(server: Context, target: str) -> bool:
    """Whether ``target`` names this server: a glob matching its name, or a nick on it."""
    return matches(target, server.config.name) or server.registry.find_nick(target) is not None


def _elsewhere(server: Context, reply: ResponseBuffer, target: str) -> bool:
    """Answer ERR_NOSUCHSERVER and return True when ``target`` names another server."""
    if not target or is_this_server(server, target):
        return False
    reply.numeric(ERR_NOSUCHSERVER, target)
    return True


@command("VERSION")
def version(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """VERSION [<server>]: RPL_VERSION, then the RPL_ISUPPORT tokens."""
    if _elsewhere(server, reply, msg.param(0)):
        return
    reply.numeric(RPL_VERSION, server.version, server.config.name, server.config.info())
    send_isupport(server, reply)


@command("TIME")
def time_(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """TIME [<server>]: the server's local time, human-readable."""
    if _elsewhere(server, reply, msg.param(0)):
        return
    now = datetime.now().astimezone()
    reply.numeric(RPL_TIME, server.config.name, now.strftime("%A, %d %B %Y %H:%M:%S %z"))


@command("ADMIN")
def admin(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """ADMIN [<server>]: where the server is and how to reach its administrator."""
    if _elsewhere(server, reply, msg.param(0)):
        return
    config = server.config
    reply.numeric(RPL_ADMINME, config.name, "Administrative info")
    reply.numeric(RPL_ADMINLOC1, config.admin_location)
    reply.numeric(RPL_ADMINLOC2, server.config.info())
    reply.numeric(RPL_ADMINEMAIL, config.admin_email)


@command("INFO")
def info(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """INFO: what this server is and runs on."""
    if _elsewhere(server, reply, msg.param(0)):
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(server.started))
    lines = [
        f"{server.version}: Kibitz, self-hosted chat for a team, a classroom or a LAN.",
        f"{server.config.name} serves the {server.config.network} network.",
        f"Running since {started} on Python {platform.python_version()}.",
        "Kibitz is free software under the MIT license.",
    ]
    for line in lines:
        reply.numeric(RPL_INFO, line)
    reply.numeric(RPL_ENDOFINFO)


@command("LINKS")
def links(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """LINKS: the servers of the network, which is this one alone."""
    name = server.config.name
    # "<mask> <server>" as established servers send it: the server listed, then the
    # server it is linked through (itself); hop count 0.
    reply.numeric(RPL_LINKS, name, name, f"0 {server.config.info()}")
    reply.numeric(RPL_ENDOFLINKS, "*")


@command("STATS", min_params=1)
def stats(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """STATS <letter> [<server>]: ``u`` gives the uptime; other letters list nothing."""
    letter = msg.params[0]
    if not letter:
        reply.numeric(ERR_NEEDMOREPARAMS, "STATS")
        return
    if _elsewhere(server, reply, msg.param(1)):
        return
    if letter == "u":
        up = max(0, int(time.time() - server.started))
        days, rest = divmod(up, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        reply.numeric(RPL_STATSUPTIME, f"Server Up {days} days {hours}:{minutes:02d}:{seconds:02d}")
    reply.numeric(RPL_ENDOFSTATS, letter)


def _reply_subject(subject: str) -> str:
    # The subject is echoed as sent, unless it cannot be a middle parameter: then '*'.
    if not subject or " " in subject or subject.startswith(":"):
        return "*"
    return subject


def _wrap(words: list[str], width: int) -> list[str]:
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _send_help(reply: ResponseBuffer, subject: str, title: str, lines: list[str]) -> None:
    """RPL_HELPSTART with the title, an empty RPL_HELPTXT, the text, RPL_ENDOFHELP last."""
    reply.numeric(RPL_HELPSTART, subject, title)
    reply.numeric(RPL_HELPTXT, subject, "")
    for line in lines[:-1]:
        reply.numeric(RPL_HELPTXT, subject, line)
    reply.numeric(RPL_ENDOFHELP, subject, lines[-1])


@command("HELP")
@command("HELPOP")
def help_(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """HELP [<subject>] (or HELPOP): one command's help, or the index of commands."""
    topic = msg.param(0).strip()
    subject = _reply_subject(msg.param(0))
    # Read at call time: commands registered by modules imported later are listed too.
    commands = COMMANDS
    if not topic:
        lines = [
            "Commands (HELP <command> for the syntax and use of one):",
            *_wrap(sorted(commands), _HELP_WIDTH),
            "Channels start with #. Nicks and channels ignore case.",
        ]
        _send_help(reply, subject, "** Help System **", lines)
        return
    name = topic.upper().lstrip("/")
    text = HELP_TOPICS.get(name)
    if name not in commands or text is None:
        reply.numeric(ERR_HELPNOTFOUND, subject)
        return
    _send_help(reply, subject, f"** The {name} command **", [f"Syntax: {text[0]}", *text[1:]])
