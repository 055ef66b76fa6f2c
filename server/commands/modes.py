"""MODE: channel modes (lists, key, limit, flags, prefixes) and one's own user modes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..channel import PREFIXES, Change, Channel, ListEntry, ModeStep
from ..protocol.codec import Message
from ..protocol.names import casefold, list_mask
from ..protocol.numerics import (
    ERR_INVALIDMODEPARAM,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_UMODEUNKNOWNFLAG,
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
from ..sendq import Outgoing, ResponseBuffer
from .network_change import change_channel, unsaved_in_network
from .outage import unsaved
from .rooms import remember_room
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..registry import Registry
    from ..session import Session

#: Channel modes by ISUPPORT CHANMODES type: A (lists), B (key), C (limit), D (flags).
LIST_MODES = "beI"
FLAG_MODES = "imnst"
#: +r: a registered room (ChanServ). A type D flag only the server sets or clears.
REGISTERED = "r"
CHANMODES = f"{LIST_MODES},k,l,{''.join(sorted(FLAG_MODES + REGISTERED))}"
#: All channel mode letters, for RPL_MYINFO.
CHANNEL_MODE_LETTERS = "".join(sorted("beIklimnrstov"))
#: User modes: invisible, operator, registered (signed in: only the server sets it),
#: wallops, bot.
USER_MODES = "Biorw"
#: Mode changes with a parameter accepted in one MODE command (ISUPPORT MODES).
MODES_PER_COMMAND = 4
#: Entries in each of +b, +e, +I (ISUPPORT MAXLIST).
MAX_LIST = 100

_LISTS = {
    "b": (RPL_BANLIST, RPL_ENDOFBANLIST),
    "e": (RPL_EXCEPTLIST, RPL_ENDOFEXCEPTLIST),
    "I": (RPL_INVEXLIST, RPL_ENDOFINVEXLIST),
}


@command("MODE", min_params=1)
def mode(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """MODE <target> [<modestring> [<args>...]] for channels and for oneself."""
    if msg.params[0].startswith("#"):
        channel_mode(server, client, msg, reply)
    else:
        user_mode(server, client, msg, reply)


def mode_is(registry: Registry, client: Session, reply: ResponseBuffer, channel: Channel) -> None:
    """RPL_CHANNELMODEIS (the key shown to members only) and RPL_CREATIONTIME."""
    modestring, params, created = registry.mode_of(client, channel)
    reply.numeric(RPL_CHANNELMODEIS, channel.name, modestring, *params)
    reply.numeric(RPL_CREATIONTIME, channel.name, str(created))


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
        mode_is(server.registry, client, reply, channel)
        return
    steps = read_modes(channel.name, msg.params[1], msg.params[2:], server.config.nicklen)
    limits = (MAX_LIST, server.config.max_list_entries_per_ip)
    with channel.send_lock:
        changed = change_channel(
            server,
            client,
            channel,
            "MODE",
            lambda: server.registry.change_modes(client, channel, steps, MODES_PER_COMMAND, limits),
            lambda done: _args(done.applied),
            reply,
        )
        if changed is None:
            return
        done, before = changed
        for answer in done.replies:
            if isinstance(answer, str):
                send_list(reply, channel, answer, done.shown[answer])
            else:
                reply.numeric(*answer)
        if done.applied:
            # Stored before it is announced: whoever sees the change can count on it
            # surviving a restart. One that cannot be stored is undone and refused.
            if not remember_room(server, channel, before):
                unsaved_in_network(server, channel, client.source, "MODE")
                unsaved(server, "MODE", channel.name, reply)
                return
            modestring, params = modestring_of(done.applied)
            out = Outgoing(
                "MODE",
                channel.name,
                modestring,
                *params,
                source=client.source,
                account=client.account_name,
            )
            out.deliver(done.members, reply)


def _args(applied: list[Change]) -> list[str] | None:
    """A MODE change's modestring and parameters (None: nothing changed)."""
    if not applied:
        return None
    modestring, params = modestring_of(applied)
    return [modestring, *params]


def read_modes(name: str, modestring: str, args: list[str], nicklen: int) -> list[ModeStep]:
    """Read a channel modestring and its arguments into steps, checking what needs no
    channel state; the registry applies them (``Registry.change_modes``)."""
    args = list(args)
    steps: list[ModeStep] = []
    sign = "+"
    for letter in modestring:
        if letter in "+-":
            sign = letter
            continue
        if letter == REGISTERED:
            continue  # only ChanServ registers a room: asking for +r or -r does nothing
        takes_param = (
            letter in PREFIXES
            or letter in LIST_MODES
            or letter == "k"
            or (letter == "l" and sign == "+")
        )
        if letter not in PREFIXES and letter not in LIST_MODES and letter not in "kl" + FLAG_MODES:
            steps.append(ModeStep("unknown", sign, letter))
            continue
        param = args.pop(0) if takes_param and args else None
        if letter in LIST_MODES and param is None:
            steps.append(ModeStep("list", sign, letter))
            continue
        if takes_param and param is None and not (letter == "k" and sign == "-"):
            continue  # a parameter mode without its parameter is ignored
        invalid: tuple[object, ...] | None = None
        if letter in LIST_MODES:
            assert param is not None
            if not param or " " in param or param.startswith(":"):
                invalid = ()
            else:
                param = list_mask(param, nicklen)
        elif letter == "k" and sign == "+":
            assert param is not None
            if any(c in param for c in ", :") or not param.isprintable() or len(param) > 23:
                # `*`, not the key: it may hold spaces, and is no use to repeat (as Ergo).
                invalid = (ERR_INVALIDMODEPARAM, name, "k", "*", "Invalid key")
        elif letter == "l" and sign == "+":
            assert param is not None
            if not (param.isascii() and param.isdigit()) or int(param) <= 0:
                invalid = (ERR_INVALIDMODEPARAM, name, "l", param, "Invalid limit")
        steps.append(ModeStep("change", sign, letter, param, takes_param, invalid))
    return steps


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
        elif letter not in "or":  # +o only comes from OPER, +r from signing in: silently
            unknown = True
    if applied:
        modestring, _ = modestring_of(applied)
        reply.send_line("MODE", client.nick, modestring, source=client.source)
        if server.cluster is not None:
            server.cluster.changed(client)
    if unknown:
        reply.numeric(ERR_UMODEUNKNOWNFLAG)
