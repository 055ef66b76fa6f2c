"""ChanServ: registering rooms, their access lists, and status on their word.

Syntax and wording follow Ergo's ChanServ where it has the command (REGISTER, DROP,
INFO, OP, DEOP); VOICE, ACCESS and TOPIC follow the same style. Every answer is a
NOTICE from ChanServ; nothing here is relayed or stored as history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..channel import Refused
from ..protocol.codec import truncate_utf8
from ..protocol.names import casefold
from ..rooms import LEVELS, UNSAVED
from ..sendq import Outgoing
from .rooms import remember_room
from .services import notice, service, services_source

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..rooms import Room
    from ..sendq import ResponseBuffer
    from ..session import Session

NICK = "ChanServ"

#: Subcommand -> (syntax, handler).
_Handler = Callable[["Context", "Session", list[str], "ResponseBuffer"], None]
_COMMANDS: dict[str, tuple[str, _Handler]] = {}


def _subcommand(name: str, syntax: str) -> Callable[[_Handler], _Handler]:
    def register(handler: _Handler) -> _Handler:
        _COMMANDS[name] = (syntax, handler)
        return handler

    return register


def _say(server: Context, client: Session, reply: ResponseBuffer, text: str) -> None:
    notice(server, client, reply, NICK, text)


@service(NICK)
def chanserv(server: Context, client: Session, text: str, reply: ResponseBuffer) -> None:
    """A message to ChanServ: ``COMMAND [params...]``."""
    words = text.split()
    if not words:
        _say(server, client, reply, "You need to run a command")
        return
    name = words[0].upper()
    found = _COMMANDS.get(name)
    if found is None:
        _say(
            server, client, reply, f"Unknown command. To see available commands, run: /{NICK} HELP"
        )
        return
    syntax, handler = found
    if name != "HELP" and len(words) < 2:
        _say(server, client, reply, f"Syntax: {syntax}")
        return
    if name != "HELP" and server.rooms is None:
        _say(server, client, reply, "Channel registration is not enabled")
        return
    try:
        handler(server, client, words[1:], reply)
    except sqlite3.Error:
        _say(server, client, reply, "An error occurred")
        raise


@_subcommand("HELP", "HELP")
def _help(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    _say(server, client, reply, "ChanServ lets you register and manage channels.")
    for syntax, _handler in _COMMANDS.values():
        _say(server, client, reply, f"  {syntax}")


def _room(
    server: Context, client: Session, name: str, reply: ResponseBuffer
) -> tuple[Channel | None, Room] | None:
    """A registered room by name (and its channel, when it exists now), or say why not."""
    assert server.rooms is not None
    room = server.rooms.find(name)
    if room is None:
        _say(server, client, reply, f"Channel {name} is not registered")
        return None
    return server.registry.find_channel(name), room


def _announce(server: Context, channel: Channel, members: list, modes: str, *params: str) -> None:
    source = services_source(server)
    Outgoing("MODE", channel.name, modes, *params, source=source).deliver(members)
    if server.cluster is not None:
        server.cluster.channel_changed(channel, source, "MODE", [modes, *params])


@_subcommand("REGISTER", "REGISTER #channel")
def _register(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    assert server.rooms is not None
    if client.account is None:
        _say(server, client, reply, "You're not logged into an account")
        return
    channel = server.registry.find_channel(params[0])
    if channel is None:
        _say(server, client, reply, "No such channel")
        return
    with channel.send_lock:
        if not server.registry.is_op(client, channel):
            _say(server, client, reply, "You must be an oper on the channel to register it")
            return
        state = server.registry.room_state(channel)
        if not server.rooms.register(
            channel.name, client.account.name, state, channel.history_floor
        ):
            _say(server, client, reply, "Channel is already registered")
            return
        try:
            members = server.registry.set_registered(channel, True, client)
        except Refused:
            members = None
        _say(server, client, reply, f"Channel {channel.name} successfully registered")
        if members:
            _announce(server, channel, members, "+r")


@_subcommand("DROP", "DROP #channel")
def _drop(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    assert server.rooms is not None
    found = _room(server, client, params[0], reply)
    if found is None:
        return
    channel, room = found
    if client.account is None or client.account.name != room.founder:
        _say(server, client, reply, "Insufficient privileges")
        return
    server.rooms.drop(room.name)
    _say(server, client, reply, f"Channel {room.display} is now unregistered")
    if channel is not None:
        with channel.send_lock:
            members = server.registry.set_registered(channel, False)
            if members:
                _announce(server, channel, members, "-r")


@_subcommand("INFO", "INFO #channel")
def _info(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    found = _room(server, client, params[0], reply)
    if found is None:
        return
    room = found[1]
    _say(server, client, reply, f"Channel {room.display} is registered")
    _say(server, client, reply, f"Founder: {_display(server, room.founder)}")
    from email.utils import formatdate  # rarely needed: not loaded at start

    when = formatdate(room.registered_at, usegmt=True)
    _say(server, client, reply, f"Registered at: {when}")


def _display(server: Context, account: str) -> str:
    """An account's name as it was registered (the key when it no longer exists)."""
    found = server.accounts.find(account) if server.accounts is not None else None
    return found.display if found is not None else account


def _grant(
    server: Context,
    client: Session,
    params: list[str],
    reply: ResponseBuffer,
    letter: str,
    on: bool,
) -> None:
    """OP, DEOP and VOICE: give or take ``letter`` to oneself or (founder only) another."""
    word = "operator" if letter == "o" else "voice"
    found = _room(server, client, params[0], reply)
    if found is None:
        return
    channel, room = found
    if client.account is None:
        _say(server, client, reply, "You're not logged into an account")
        return
    if channel is None or not server.registry.is_member(client, channel):
        _say(server, client, reply, "You're not on that channel")
        return
    nick = params[1] if len(params) > 1 else client.nick
    level = room.level_of(client.account.name)
    if casefold(nick) != client.key:
        if client.account.name != room.founder:
            _say(server, client, reply, "Only the channel founder can do this")
            return
    elif on and (level is None or (letter == "o" and level != "op")):
        _say(server, client, reply, "You don't have any stored privileges on that channel")
        return
    with channel.send_lock:
        try:
            done = server.registry.set_status(channel, nick, letter, on)
        except Refused:
            _say(server, client, reply, "Could not find given client")
            return
        if done is None:
            if on:
                _say(server, client, reply, f"Successfully granted {word} privileges")
            else:
                _say(server, client, reply, "Target has no privileges to remove")
            return
        member, members = done
        _announce(server, channel, members, ("+" if on else "-") + letter, member.nick)
    if on:
        _say(server, client, reply, f"Successfully granted {word} privileges")
    else:
        _say(server, client, reply, f"Successfully removed {word} privileges")


@_subcommand("OP", "OP #channel [nickname]")
def _op(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    _grant(server, client, params, reply, "o", True)


@_subcommand("DEOP", "DEOP #channel [nickname]")
def _deop(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    _grant(server, client, params, reply, "o", False)


@_subcommand("VOICE", "VOICE #channel [nickname]")
def _voice(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    _grant(server, client, params, reply, "v", True)


@_subcommand("ACCESS", "ACCESS #channel ADD|DEL|LIST [account] [op|voice]")
def _access(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    assert server.rooms is not None
    found = _room(server, client, params[0], reply)
    if found is None:
        return
    channel, room = found
    action = params[1].upper() if len(params) > 1 else ""
    mine = room.level_of(client.account.name if client.account else None)
    if mine != "op":
        _say(server, client, reply, "Insufficient privileges")
        return
    if action == "LIST":
        _say(
            server,
            client,
            reply,
            f"Channel {room.display} has {len(room.access)} persistent modes set",
        )
        for account, level in sorted(room.access.items()):
            _say(
                server,
                client,
                reply,
                f"Account {_display(server, account)} receives mode +{LEVELS[level]}",
            )
        return
    if action not in ("ADD", "DEL") or len(params) < 3 or (action == "ADD" and len(params) < 4):
        _say(server, client, reply, f"Syntax: {_COMMANDS['ACCESS'][0]}")
        return
    account = casefold(params[2])
    wanted: str | None = params[3].lower() if action == "ADD" else None
    if wanted is not None and wanted not in LEVELS:
        _say(server, client, reply, "Invalid mode change")
        return
    if action == "ADD" and (server.accounts is None or server.accounts.find(account) is None):
        _say(server, client, reply, "Account does not exist")
        return
    if not server.rooms.set_access(room.name, account, wanted):
        _say(server, client, reply, "No changes were made")
        return
    old = room.access.get(account)
    change = f"+{LEVELS[wanted]}" if wanted is not None else f"-{LEVELS[old or 'voice']}"
    _say(server, client, reply, f"Successfully set persistent mode {change} on {account}")
    if channel is not None and wanted is not None:
        # Members signed in to that account get it now, as they would on join.
        for member in server.registry.signed_in(account):
            if server.registry.is_member(member, channel):
                with channel.send_lock:
                    done = server.registry.set_status(channel, member.nick, LEVELS[wanted], True)
                    if done is not None:
                        _announce(server, channel, done[1], "+" + LEVELS[wanted], member.nick)


@_subcommand("TOPIC", "TOPIC #channel [topic]")
def _topic(server: Context, client: Session, params: list[str], reply: ResponseBuffer) -> None:
    found = _room(server, client, params[0], reply)
    if found is None:
        return
    channel, room = found
    if room.level_of(client.account.name if client.account else None) != "op":
        _say(server, client, reply, "Insufficient privileges")
        return
    if channel is None:
        _say(server, client, reply, "No such channel")
        return
    text = truncate_utf8(" ".join(params[1:]), server.config.topiclen)
    with channel.send_lock:
        before = server.registry.room_snapshot(channel)
        members = server.registry.set_room_topic(channel, text, NICK)
        # The room keeps its topic itself, stored before it is seen (or not set at all).
        if not remember_room(server, channel, before):
            _say(server, client, reply, UNSAVED)
            return
        out = Outgoing("TOPIC", channel.name, text, source=services_source(server))
        out.deliver(members)
        if server.cluster is not None:  # under the send_lock, as every channel change
            server.cluster.channel_changed(channel, out.source, "TOPIC", [text])
    _say(server, client, reply, f"Topic of {channel.name} changed")
