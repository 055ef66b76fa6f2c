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
RPL_WHOISACCOUNT = Numeric("330", "is logged in as")
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
ERR_NOSUCHSERVER = Numeric("402", "No such server")
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
# Its text names the user and host of the collision: "Nickname collision KILL from <user>@<host>".
ERR_NICKCOLLISION = Numeric("436")
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

# --- the rest of the command set: modes, queries, operators, presence --------------
RPL_ADMINME = Numeric("256")
RPL_ADMINLOC1 = Numeric("257")
RPL_ADMINLOC2 = Numeric("258")
RPL_ADMINEMAIL = Numeric("259")
RPL_STATSUPTIME = Numeric("242")
RPL_ENDOFSTATS = Numeric("219", "End of /STATS report")
RPL_AWAY = Numeric("301")
RPL_USERHOST = Numeric("302")
RPL_ISON = Numeric("303")
RPL_UNAWAY = Numeric("305", "You are no longer marked as being away")
RPL_NOWAWAY = Numeric("306", "You have been marked as being away")
RPL_WHOISUSER = Numeric("311")
RPL_WHOISSERVER = Numeric("312")
RPL_WHOISOPERATOR = Numeric("313", "is an IRC operator")
RPL_WHOWASUSER = Numeric("314")
RPL_WHOISIDLE = Numeric("317", "seconds idle, signon time")
RPL_ENDOFWHOIS = Numeric("318", "End of /WHOIS list")
RPL_WHOISCHANNELS = Numeric("319")
RPL_LISTSTART = Numeric("321", "Users  Name")
RPL_LIST = Numeric("322")
RPL_LISTEND = Numeric("323", "End of /LIST")
RPL_WHOISBOT = Numeric("335")
RPL_INVITELIST = Numeric("336")
RPL_ENDOFINVITELIST = Numeric("337", "End of /INVITE list")
RPL_INVITING = Numeric("341")
RPL_INVEXLIST = Numeric("346")
RPL_ENDOFINVEXLIST = Numeric("347", "End of Channel Invite Exception List")
RPL_EXCEPTLIST = Numeric("348")
RPL_ENDOFEXCEPTLIST = Numeric("349", "End of channel exception list")
RPL_VERSION = Numeric("351")
RPL_WHOSPCRPL = Numeric("354")
RPL_LINKS = Numeric("364")
RPL_ENDOFLINKS = Numeric("365", "End of /LINKS list")
RPL_BANLIST = Numeric("367")
RPL_ENDOFBANLIST = Numeric("368", "End of channel ban list")
RPL_ENDOFWHOWAS = Numeric("369", "End of WHOWAS")
RPL_INFO = Numeric("371")
RPL_ENDOFINFO = Numeric("374", "End of INFO list")
RPL_YOUREOPER = Numeric("381", "You are now an IRC operator")
RPL_REHASHING = Numeric("382", "Rehashing")
RPL_TIME = Numeric("391")
RPL_VISIBLEHOST = Numeric("396", "is now your displayed host")
RPL_WHOISSECURE = Numeric("671", "is using a secure connection")
RPL_HELPSTART = Numeric("704")
RPL_HELPTXT = Numeric("705")
RPL_ENDOFHELP = Numeric("706")
RPL_MONONLINE = Numeric("730")
RPL_MONOFFLINE = Numeric("731")
RPL_MONLIST = Numeric("732")
RPL_ENDOFMONLIST = Numeric("733", "End of MONITOR list")
ERR_MONLISTFULL = Numeric("734", "Monitor list is full.")
ERR_WASNOSUCHNICK = Numeric("406", "There was no such nickname")
ERR_USERONCHANNEL = Numeric("443", "is already on channel")
ERR_CHANNELISFULL = Numeric("471", "Cannot join channel (+l)")
ERR_INVITEONLYCHAN = Numeric("473", "Cannot join channel (+i)")
ERR_BANNEDFROMCHAN = Numeric("474", "Cannot join channel (+b)")
ERR_BADCHANNELKEY = Numeric("475", "Cannot join channel (+k)")
ERR_BANLISTFULL = Numeric("478", "Channel list is full")
ERR_NOPRIVILEGES = Numeric("481", "Permission Denied- You're not an IRC operator")
ERR_NOOPERHOST = Numeric("491", "No O-lines for your host")
ERR_HELPNOTFOUND = Numeric("524", "No help available on this topic")
ERR_INVALIDMODEPARAM = Numeric("696")

# --- accounts: SASL (IRCv3 sasl-3.1/3.2) ------------------------------------------------
RPL_WHOISCERTFP = Numeric("276")
# "<nick>!<user>@<host> <account> :You are now logged in as <account>": the text names it.
RPL_LOGGEDIN = Numeric("900")
RPL_LOGGEDOUT = Numeric("901", "You are now logged out")
ERR_NICKLOCKED = Numeric("902", "You must use a nick assigned to you")
RPL_SASLSUCCESS = Numeric("903", "SASL authentication successful")
ERR_SASLFAIL = Numeric("904", "SASL authentication failed")
ERR_SASLTOOLONG = Numeric("905", "SASL message too long")
ERR_SASLABORTED = Numeric("906", "SASL authentication aborted")
ERR_SASLALREADY = Numeric("907", "You have already authenticated using SASL")
RPL_SASLMECHS = Numeric("908", "are available SASL mechanisms")

# --- owned nicks and service users (the wording Ergo uses) ------------------------------
#: ERR_NICKNAMEINUSE for a nick that is an account's name, to anyone not signed in to it.
ERR_NICKRESERVED = Numeric("433", "Nickname is reserved by a different account")
#: RPL_WHOISOPERATOR for a service user (NickServ).
RPL_WHOISSERVICE = Numeric("313", "is a Network Service")
