"""Numeric replies by name, with the fixed texts the Modern IRC document gives them.

A numeric whose ``text`` is set ends with that text as its last parameter; the others
carry a last parameter built by the handler (a topic, a list of names, ...).
"""

from __future__ import annotations

from typing import NamedTuple


class Numeric(NamedTuple):
    """A numeric reply: its three-digit code and its fixed text, if it has one."""

    code: str
    text: str | None = None


RPL_WELCOME = Numeric("001")
RPL_YOURHOST = Numeric("002")
RPL_CREATED = Numeric("003")
RPL_MYINFO = Numeric("004")
RPL_ISUPPORT = Numeric("005", "are supported by this server")

RPL_UMODEIS = Numeric("221")
RPL_LUSERCLIENT = Numeric("251")
RPL_LUSEROP = Numeric("252", "operator(s) online")
RPL_LUSERUNKNOWN = Numeric("253", "unknown connection(s)")
RPL_LUSERCHANNELS = Numeric("254", "channels formed")
RPL_LUSERME = Numeric("255")
RPL_LOCALUSERS = Numeric("265")
RPL_GLOBALUSERS = Numeric("266")

RPL_ENDOFWHO = Numeric("315", "End of WHO list")
RPL_CHANNELMODEIS = Numeric("324")
RPL_CREATIONTIME = Numeric("329")
RPL_NOTOPIC = Numeric("331", "No topic is set")
RPL_TOPIC = Numeric("332")
RPL_TOPICWHOTIME = Numeric("333")
RPL_WHOREPLY = Numeric("352")
RPL_NAMREPLY = Numeric("353")
RPL_ENDOFNAMES = Numeric("366", "End of /NAMES list")
RPL_MOTD = Numeric("372")
RPL_MOTDSTART = Numeric("375")
RPL_ENDOFMOTD = Numeric("376", "End of /MOTD command.")

ERR_NOSUCHNICK = Numeric("401", "No such nick/channel")
ERR_NOSUCHCHANNEL = Numeric("403", "No such channel")
ERR_CANNOTSENDTOCHAN = Numeric("404", "Cannot send to channel")
ERR_TOOMANYCHANNELS = Numeric("405", "You have joined too many channels")
ERR_TOOMANYTARGETS = Numeric("407")
ERR_NORECIPIENT = Numeric("411")
ERR_NOTEXTTOSEND = Numeric("412", "No text to send")
ERR_INPUTTOOLONG = Numeric("417", "Input line was too long")
ERR_UNKNOWNCOMMAND = Numeric("421", "Unknown command")
ERR_NOMOTD = Numeric("422", "MOTD File is missing")
ERR_NONICKNAMEGIVEN = Numeric("431", "No nickname given")
ERR_ERRONEUSNICKNAME = Numeric("432", "Erroneus nickname")
ERR_NICKNAMEINUSE = Numeric("433", "Nickname is already in use")
ERR_USERNOTINCHANNEL = Numeric("441", "They aren't on that channel")
ERR_NOTONCHANNEL = Numeric("442", "You're not on that channel")
ERR_NOTREGISTERED = Numeric("451", "You have not registered")
ERR_NEEDMOREPARAMS = Numeric("461", "Not enough parameters")
ERR_ALREADYREGISTERED = Numeric("462", "You may not reregister")
ERR_PASSWDMISMATCH = Numeric("464", "Password incorrect")
ERR_UNKNOWNMODE = Numeric("472", "is unknown mode char to me")
ERR_CHANOPRIVSNEEDED = Numeric("482", "You're not channel operator")
ERR_UMODEUNKNOWNFLAG = Numeric("501", "Unknown MODE flag")
ERR_USERSDONTMATCH = Numeric("502", "Cant change mode for other users")
ERR_INVALIDCAPCMD = Numeric("410", "Invalid CAP command")
