"""Channel commands: JOIN, PART, TOPIC, NAMES, MODE, WHO."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..client import Outgoing
from ..codec import MAX_LINE, Message, truncate_utf8
from ..numerics import (
    ERR_CHANOPRIVSNEEDED,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOTONCHANNEL,
    ERR_UMODEUNKNOWNFLAG,
    ERR_UNKNOWNMODE,
    ERR_USERNOTINCHANNEL,
    ERR_USERSDONTMATCH,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_NAMREPLY,
    RPL_NOTOPIC,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
    RPL_UMODEIS,
    RPL_WHOREPLY,
)
from ..registry import PREFIXES, Channel, casefold, valid_channel
from .table import command

if TYPE_CHECKING:
    from ..client import Client
    from ..server import ChatServer

#: Channel modes without a parameter that this server implements (CHANMODES type D).
CHANNEL_MODES = "nt"


def join_channel(server: ChatServer, client: Client, name: str) -> None:
    """Join ``client`` to ``name``: JOIN to every member, then topic and names."""
    if not valid_channel(name, server.config.channellen):
        client.numeric(ERR_NOSUCHCHANNEL, name)
        return
    # The JOIN goes out under the channel's send_lock, so no message to the channel
    # can reach the joiner before its own JOIN does.
    members: list[Client] | None = []
    while members == []:
        channel = server.registry.channel_for_join(name)
        with channel.send_lock:
            members = server.registry.join(client, channel)
            if members:
                Outgoing("JOIN", channel.name, source=client.source).deliver(members)
    if members is None:
        return  # already a member: nothing happens
    if channel.topic:
        send_topic(client, channel)
    send_names(server, client, channel)


def send_topic(client: Client, channel: Channel) -> None:
    """RPL_TOPIC and RPL_TOPICWHOTIME, or RPL_NOTOPIC."""
    if not channel.topic:
        client.numeric(RPL_NOTOPIC, channel.name)
        return
    client.numeric(RPL_TOPIC, channel.name, channel.topic)
    client.numeric(RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(channel.topic_at))


def send_names(server: ChatServer, client: Client, channel: Channel) -> None:
    """RPL_NAMREPLY lines (as many as the names need) and RPL_ENDOFNAMES."""
    multi = "multi-prefix" in client.caps
    with server.registry.lock:
        names = [channel.prefix_of(m, multi) + m.nick for m in channel.members]
    head = f":{server.config.name} 353 {client.nick} = {channel.name} :"
    budget = MAX_LINE - 2 - len(head.encode())
    line: list[str] = []
    size = 0
    for name in names:
        if line and size + len(name) + 1 > budget:
            client.numeric(RPL_NAMREPLY, "=", channel.name, " ".join(line))
            line, size = [], 0
        line.append(name)
        size += len(name) + 1
    if line:
        client.numeric(RPL_NAMREPLY, "=", channel.name, " ".join(line))
    client.numeric(RPL_ENDOFNAMES, channel.name)


@command("JOIN", min_params=1)
def join(server: ChatServer, client: Client, msg: Message) -> None:
    """JOIN <channel>{,<channel>} (or JOIN 0 to leave every channel)."""
    if msg.params[0] == "0":
        for channel in server.registry.visible_channels(client):
            part_channel(server, client, channel, "")
        return
    for name in msg.params[0].split(","):
        if name:
            join_channel(server, client, name)


def part_channel(server: ChatServer, client: Client, channel: Channel, reason: str) -> None:
    """Take ``client`` out of ``channel`` and tell every member (itself included)."""
    with channel.send_lock:
        recipients = server.registry.part(client, channel)
        if recipients is None:
            client.numeric(ERR_NOTONCHANNEL, channel.name)
            return
        params = (channel.name, reason) if reason else (channel.name,)
        Outgoing("PART", *params, source=client.source).deliver(recipients)


@command("PART", min_params=1)
def part(server: ChatServer, client: Client, msg: Message) -> None:
    """PART <channel>{,<channel>} [<reason>]."""
    reason = msg.param(1)
    for name in msg.params[0].split(","):
        if not name:
            continue
        channel = server.registry.find_channel(name)
        if channel is None:
            client.numeric(ERR_NOSUCHCHANNEL, name)
        else:
            part_channel(server, client, channel, reason)


@command("TOPIC", min_params=1)
def topic(server: ChatServer, client: Client, msg: Message) -> None:
    """TOPIC <channel> [<topic>]: show or set the topic (+t: operators only)."""
    name = msg.params[0]
    channel = server.registry.find_channel(name)
    if channel is None:
        client.numeric(ERR_NOSUCHCHANNEL, name)
        return
    if len(msg.params) < 2:
        send_topic(client, channel)
        return
    text = truncate_utf8(msg.params[1], server.config.topiclen)
    with channel.send_lock:
        with server.registry.lock:
            if client not in channel.members:
                refusal = ERR_NOTONCHANNEL
            elif "t" in channel.modes and not channel.is_op(client):
                refusal = ERR_CHANOPRIVSNEEDED
            else:
                refusal = None
                channel.topic = text
                channel.topic_by = client.nick
                channel.topic_at = int(time.time())
                members = list(channel.members)
        if refusal is not None:
            client.numeric(refusal, channel.name)
            return
        Outgoing("TOPIC", channel.name, text, source=client.source).deliver(members)


@command("NAMES")
def names(server: ChatServer, client: Client, msg: Message) -> None:
    """NAMES [<channel>{,<channel>}]: who is in a channel."""
    if not msg.params:
        client.numeric(RPL_ENDOFNAMES, "*")
        return
    for name in msg.params[0].split(","):
        channel = server.registry.find_channel(name)
        if channel is None:
            client.numeric(RPL_ENDOFNAMES, name)
        else:
            send_names(server, client, channel)


@command("MODE", min_params=1)
def mode(server: ChatServer, client: Client, msg: Message) -> None:
    """MODE <target> [<modestring> [<args>...]] for channels and for oneself."""
    target = msg.params[0]
    if target.startswith("#"):
        channel_mode(server, client, msg)
    else:
        user_mode(server, client, msg)


def channel_mode(server: ChatServer, client: Client, msg: Message) -> None:
    """Show or change a channel's modes (+n +t) and its members' prefixes (+o +v)."""
    channel = server.registry.find_channel(msg.params[0])
    if channel is None:
        client.numeric(ERR_NOSUCHCHANNEL, msg.params[0])
        return
    if len(msg.params) < 2:
        client.numeric(RPL_CHANNELMODEIS, channel.name, "+" + "".join(sorted(channel.modes)))
        client.numeric(RPL_CREATIONTIME, channel.name, str(int(channel.created)))
        return
    args = list(msg.params[2:])
    applied: list[tuple[str, str, str | None]] = []
    errors: list[tuple] = []
    with channel.send_lock:
        with server.registry.lock:
            is_op = channel.is_op(client)
            sign = "+"
            for letter in msg.params[1]:
                if letter in "+-":
                    sign = letter
                elif letter in PREFIXES:
                    if not args:
                        continue
                    nick = args.pop(0)
                    if not is_op:
                        errors.append((ERR_CHANOPRIVSNEEDED, channel.name))
                        continue
                    member = server.registry.nicks.get(casefold(nick))
                    if member is None:
                        errors.append((ERR_NOSUCHNICK, nick))
                    elif member not in channel.members:
                        errors.append((ERR_USERNOTINCHANNEL, nick, channel.name))
                    elif channel.set_prefix(member, letter, sign == "+"):
                        applied.append((sign, letter, member.nick))
                elif letter in CHANNEL_MODES:
                    if not is_op:
                        errors.append((ERR_CHANOPRIVSNEEDED, channel.name))
                    elif (letter in channel.modes) != (sign == "+"):
                        channel.modes.symmetric_difference_update(letter)
                        applied.append((sign, letter, None))
                else:
                    errors.append((ERR_UNKNOWNMODE, letter))
            members = list(channel.members)
        for error in dict.fromkeys(errors):
            client.numeric(*error)
        if applied:
            modestring, params = _modestring(applied)
            Outgoing("MODE", channel.name, modestring, *params, source=client.source).deliver(
                members
            )


def _modestring(changes: list[tuple[str, str, str | None]]) -> tuple[str, list[str]]:
    out, params, sign = [], [], ""
    for change_sign, letter, param in changes:
        if change_sign != sign:
            out.append(change_sign)
            sign = change_sign
        out.append(letter)
        if param is not None:
            params.append(param)
    return "".join(out), params


def user_mode(server: ChatServer, client: Client, msg: Message) -> None:
    """Show or change one's own user modes (+i)."""
    target = msg.params[0]
    if casefold(target) != client.key:
        if server.registry.find_nick(target) is None:
            client.numeric(ERR_NOSUCHNICK, target)
        else:
            client.numeric(ERR_USERSDONTMATCH)
        return
    if len(msg.params) < 2:
        client.numeric(RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    applied: list[tuple[str, str, str | None]] = []
    unknown = False
    sign = "+"
    for letter in msg.params[1]:
        if letter in "+-":
            sign = letter
        elif letter == "i":
            if (letter in client.modes) != (sign == "+"):
                client.modes.symmetric_difference_update(letter)
                applied.append((sign, letter, None))
        else:
            unknown = True
    if applied:
        modestring, _ = _modestring(applied)
        client.send_line("MODE", client.nick, modestring, source=client.source)
    if unknown:
        client.numeric(ERR_UMODEUNKNOWNFLAG)


@command("WHO", min_params=1)
def who(server: ChatServer, client: Client, msg: Message) -> None:
    """WHO <channel|nick>: one RPL_WHOREPLY per match, then RPL_ENDOFWHO."""
    mask = msg.params[0]
    name = server.config.name
    rows: list[tuple[str, Client, str]] = []
    with server.registry.lock:
        if mask.startswith("#"):
            channel = server.registry.channels.get(casefold(mask))
            if channel is not None:
                rows = [(channel.name, m, channel.prefix_of(m)) for m in channel.members]
        else:
            found = server.registry.nicks.get(casefold(mask))
            if found is not None:
                rows = [("*", found, "")]
    for channel_name, member, prefix in rows:
        flags = "H" + ("*" if "o" in member.modes else "") + prefix
        client.numeric(
            RPL_WHOREPLY,
            channel_name,
            member.user or "*",
            member.host,
            name,
            member.nick,
            flags,
            f"0 {member.realname}",
        )
    client.numeric(RPL_ENDOFWHO, mask)
