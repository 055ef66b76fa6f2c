"""MODE: channel modes (lists, key, limit, flags, prefixes) and one's own user modes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.codec import Message
from ..protocol.names import casefold, list_mask
from ..protocol.numerics import (
    ERR_BANLISTFULL,
    ERR_CHANOPRIVSNEEDED,
    ERR_INVALIDMODEPARAM,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_UMODEUNKNOWNFLAG,
    ERR_UNKNOWNMODE,
    ERR_USERNOTINCHANNEL,
    ERR_USERSDONTMATCH,
    RPL_BANLIST,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
    RPL_ENDOFBANLIST,
    RPL_ENDOFEXCEPTLIST,
    RPL_ENDOFINVEXLIST,
    RPL_EXCEPTLIST,
    RPL_INVEXLIST,
    RPL_UMODEIS,
)
from ..registry import PREFIXES, Channel, ListEntry
from ..sendq import Outgoing, ResponseBuffer
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session

#: Channel modes by ISUPPORT CHANMODES type: A (lists), B (key), C (limit), D (flags).
LIST_MODES = "beI"
FLAG_MODES = "imnst"
CHANMODES = f"{LIST_MODES},k,l,{FLAG_MODES}"
#: All channel mode letters, for RPL_MYINFO.
CHANNEL_MODE_LETTERS = "".join(sorted("beIklimnstov"))
#: User modes: invisible, operator, wallops, bot.
USER_MODES = "Biow"
#: Mode changes with a parameter accepted in one MODE command (ISUPPORT MODES).
MODES_PER_COMMAND = 4
#: Entries in each of +b, +e, +I (ISUPPORT MAXLIST).
MAX_LIST = 100

_LISTS = {
    "b": (RPL_BANLIST, RPL_ENDOFBANLIST),
    "e": (RPL_EXCEPTLIST, RPL_ENDOFEXCEPTLIST),
    "I": (RPL_INVEXLIST, RPL_ENDOFINVEXLIST),
}

Change = tuple[str, str, "str | None"]


@command("MODE", min_params=1)
def mode(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """MODE <target> [<modestring> [<args>...]] for channels and for oneself."""
    if msg.params[0].startswith("#"):
        channel_mode(server, client, msg, reply)
    else:
        user_mode(server, client, msg, reply)


def mode_is(client: Session, reply: ResponseBuffer, channel: Channel) -> None:
    """RPL_CHANNELMODEIS (the key shown to members only) and RPL_CREATIONTIME."""
    letters = "".join(sorted(channel.modes))
    params: list[str] = []
    if channel.key is not None:
        letters += "k"
        params.append(channel.key if client in channel.members else "*")
    if channel.limit is not None:
        letters += "l"
        params.append(str(channel.limit))
    reply.numeric(RPL_CHANNELMODEIS, channel.name, "+" + letters, *params)
    reply.numeric(RPL_CREATIONTIME, channel.name, str(int(channel.created)))


def send_list(
    reply: ResponseBuffer, channel: Channel, letter: str, entries: list[ListEntry]
) -> None:
    """The entries of list mode ``letter`` (a snapshot) and the end-of-list numeric."""
    entry, end = _LISTS[letter]
    for mask, by, at, _ip in entries:
        reply.numeric(entry, channel.name, mask, by, str(at))
    reply.numeric(end, channel.name)


def channel_mode(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """Show or change a channel's modes."""
    channel = server.registry.find_channel(msg.params[0])
    if channel is None:
        reply.numeric(ERR_NOSUCHCHANNEL, msg.params[0])
        return
    if len(msg.params) < 2:
        mode_is(client, reply, channel)
        return
    with channel.send_lock:
        with server.registry.lock:
            applied, replies = _apply(server, client, channel, msg.params[1], msg.params[2:])
            members = list(channel.members)
            # A snapshot: other threads may change the lists once the lock is released.
            shown = {r: list(channel.lists[r].values()) for r in replies if isinstance(r, str)}
        for answer in replies:
            if isinstance(answer, str):
                send_list(reply, channel, answer, shown[answer])
            else:
                reply.numeric(*answer)
        if applied:
            modestring, params = modestring_of(applied)
            out = Outgoing("MODE", channel.name, modestring, *params, source=client.source)
            out.deliver(members, reply)


def _apply(
    server: Context, client: Session, channel: Channel, modestring: str, args: list[str]
) -> tuple[list[Change], list]:
    """Apply a modestring under the registry lock; return the changes and the replies."""
    args = list(args)
    applied: list[Change] = []
    replies: list = []
    is_op = channel.is_op(client)
    refused = False
    with_param = 0
    sign = "+"
    for letter in modestring:
        if letter in "+-":
            sign = letter
            continue
        takes_param = (
            letter in PREFIXES
            or letter in LIST_MODES
            or letter == "k"
            or (letter == "l" and sign == "+")
        )
        if letter not in PREFIXES and letter not in LIST_MODES and letter not in "kl" + FLAG_MODES:
            replies.append((ERR_UNKNOWNMODE, letter))
            continue
        param = args.pop(0) if takes_param and args else None
        if letter in LIST_MODES and param is None:
            if letter not in replies:
                replies.append(letter)  # a list query: anyone may look
            continue
        if takes_param and param is None and not (letter == "k" and sign == "-"):
            continue  # a parameter mode without its parameter is ignored
        if not is_op:
            refused = True
            continue
        if takes_param:
            with_param += 1
            if with_param > MODES_PER_COMMAND:
                continue
        change = _apply_one(server, channel, client, sign, letter, param, replies)
        if change is not None:
            applied.append(change)
    if refused:
        replies.append((ERR_CHANOPRIVSNEEDED, channel.name))
    return applied, replies


def _apply_one(
    server: Context,
    channel: Channel,
    client: Session,
    sign: str,
    letter: str,
    param: str | None,
    replies: list,
) -> Change | None:
    on = sign == "+"
    if letter in PREFIXES:
        member = server.registry.nicks.get(casefold(param))
        if member is None:
            replies.append((ERR_NOSUCHNICK, param))
        elif member not in channel.members:
            replies.append((ERR_USERNOTINCHANNEL, member.nick, channel.name))
        elif channel.set_prefix(member, letter, on):
            return (sign, letter, member.nick)
        return None
    if letter in LIST_MODES:
        if not param or " " in param or param.startswith(":"):
            return None
        mask = list_mask(param, server.config.nicklen)
        registry = server.registry
        if on:
            limits = (MAX_LIST, server.config.max_list_entries_per_ip)
            added = registry.add_list_entry(channel, letter, mask, client, limits)
            if added is False:
                replies.append((ERR_BANLISTFULL, channel.name, letter))
            if not added:
                return None
        elif not registry.remove_list_entry(channel, letter, mask):
            return None
        return (sign, letter, mask)
    if letter == "k":
        if not on:
            if channel.key is None:
                return None
            channel.key = None
            return (sign, letter, "*")
        if any(c in param for c in ", :") or not param.isprintable() or len(param) > 23:
            # `*`, not the key: it may hold spaces, and is no use to repeat (as Ergo does).
            replies.append((ERR_INVALIDMODEPARAM, channel.name, "k", "*", "Invalid key"))
            return None
        channel.key = param
        return (sign, letter, param)
    if letter == "l":
        if not on:
            if channel.limit is None:
                return None
            channel.limit = None
            return (sign, letter, None)
        if not param.isdigit() or int(param) <= 0:
            replies.append((ERR_INVALIDMODEPARAM, channel.name, "l", param, "Invalid limit"))
            return None
        channel.limit = int(param)
        return (sign, letter, param)
    if (letter in channel.modes) == on:
        return None
    channel.modes.symmetric_difference_update(letter)
    return (sign, letter, None)


def modestring_of(changes: list[Change]) -> tuple[str, list[str]]:
    """Render changes as one modestring and its parameters (``+o-v nick nick``)."""
    out: list[str] = []
    params: list[str] = []
    sign = ""
    for change_sign, letter, param in changes:
        if change_sign != sign:
            out.append(change_sign)
            sign = change_sign
        out.append(letter)
        if param is not None:
            params.append(param)
    return "".join(out), params


def user_mode(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """Show or change one's own user modes (+i +w +B; -o to drop operator status)."""
    target = msg.params[0]
    if casefold(target) != client.key:
        if server.registry.find_nick(target) is None:
            reply.numeric(ERR_NOSUCHNICK, target)
        else:
            reply.numeric(ERR_USERSDONTMATCH)
        return
    if len(msg.params) < 2:
        reply.numeric(RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    applied: list[Change] = []
    unknown = False
    sign = "+"
    for letter in msg.params[1]:
        if letter in "+-":
            sign = letter
        elif letter in "iwB" or (letter == "o" and sign == "-"):
            if server.registry.set_user_mode(client, letter, sign == "+"):
                applied.append((sign, letter, None))
        elif letter != "o":  # +o only comes from OPER, silently
            unknown = True
    if applied:
        modestring, _ = modestring_of(applied)
        reply.send_line("MODE", client.nick, modestring, source=client.source)
    if unknown:
        reply.numeric(ERR_UMODEUNKNOWNFLAG)
