"""Desktop notifications and the window's urgency hint, on a mention or a private message.

:class:`Alerts` runs on the Tk thread and decides: a message by someone else that names
us, or says something in a private conversation, while the window is not focused or the
conversation is not the one shown. :class:`DesktopNotifier` shows it through the
freedesktop Notifications service (``org.freedesktop.Notifications`` on the session bus,
the Desktop Notifications Specification 1.2), speaking D-Bus with jeepney on a thread of
its own: the Tk thread only queues a request and never waits on the bus. A click on a
notification (its ``default`` action, the ``ActionInvoked`` signal) comes back as a
:class:`app.events.NotificationClicked` on the model's event queue, which the controller
drains with ``after()`` like every other event.

A new message in a conversation replaces that conversation's notification
(``replaces_id``) rather than stacking another. Once the user has read the conversation a
notification is about (it is open in the focused window, or a read marker from another
window of the account covers the message), the notification is withdrawn
(``CloseNotification``): nothing is left asking about what was read. With no session bus
or no notification service, one log line says so and nothing else changes.
"""

from __future__ import annotations

import html
import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from app import events as ev
from app.conversations import is_direct
from app.irc import strip_formatting
from app.settings import Settings
from app.text import Line, sanitize

log = logging.getLogger("app.notifications")

SERVICE = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
APP_NAME = "Kibitz"
ICON = Path(__file__).with_name("kibitz.png")
#: The longest title and body shown (a notification is a glance, not the transcript).
TITLE_MAX = 80
BODY_MAX = 200
#: Seconds to wait for the bus or the service to answer (on the notifier's thread).
CALL_TIMEOUT = 5.0
#: The lines that notify: what people say (not notices, joins or our own notes).
_NOTIFYING = ("message", "action")


def notification_text(conversation: str, line: Line) -> tuple[str, str]:
    """The title ("bob in #general", or "bob" in a private conversation) and the body
    (the message, without IRC formatting, shortened) of a notification about ``line``."""
    nick = line.nick
    title = nick if is_direct(conversation) else f"{nick} in {conversation}"
    text = " ".join(strip_formatting(line.text).split())
    if line.kind == "action":
        text = f"* {nick} {text}"
    return sanitize(title, TITLE_MAX), sanitize(text, BODY_MAX)


class Notifier(Protocol):
    """Shows a notification per conversation (tests and other platforms pass their own)."""

    def notify(self, key: str, title: str, body: str) -> None:
        """Show (or replace) the notification of conversation ``key``; never blocks."""
        ...

    def withdraw(self, key: str) -> None:
        """Close the notification of conversation ``key``, if one is shown; never blocks."""
        ...

    def close(self) -> None:
        """Stop: no more notifications, the bus connection closed."""
        ...


def session_bus_address() -> str | None:
    """Where the session bus is: ``$DBUS_SESSION_BUS_ADDRESS``, else the user's bus
    socket in ``$XDG_RUNTIME_DIR`` (as libdbus and sd-bus look), else None."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={Path(runtime, 'bus')}"
    return None


class DesktopNotifier:
    """Notifications through ``org.freedesktop.Notifications``, from a background thread.

    The thread starts with the first notification and owns everything D-Bus: the
    connection, the ids the service gave each conversation's notification, and the
    signals (they arrive in the same inbox as the requests). Clicks go to ``events``.
    """

    def __init__(self, events: queue.Queue[Any], icon: Path = ICON) -> None:
        self.events = events
        self.icon = icon.as_uri() if icon.is_file() else ""
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Owned by the thread:
        self._router: Any = None
        self._connection: Any = None
        self._ready = False  # the service's capabilities are known
        self._markup = False
        self._ids: dict[str, int] = {}  # conversation -> id of its notification
        self._keys: dict[int, str] = {}  # id -> conversation
        self._warned = False

    def notify(self, key: str, title: str, body: str) -> None:
        """Queue a notification for conversation ``key`` (the thread shows it)."""
        if self._closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
            self._thread.start()
        self._inbox.put(("show", key, title, body))

    def withdraw(self, key: str) -> None:
        """Queue closing conversation ``key``'s notification (the thread closes it)."""
        if not self._closed and self._thread is not None:  # nothing shown before the thread
            self._inbox.put(("withdraw", key))

    def close(self) -> None:
        """Stop the thread and close the bus connection."""
        self._closed = True
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout=1.0)

    # --- the notifier's thread ---------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                item = self._inbox.get()
                if item is None:
                    return
                if isinstance(item, tuple) and item[0] == "show":
                    self._show(*item[1:])
                elif isinstance(item, tuple):
                    self._withdraw(item[1])
                else:
                    self._signal(item)
        finally:
            self._disconnect()

    def _warn(self, why: str) -> None:
        if not self._warned:  # said once; later attempts stay quiet
            self._warned = True
            log.warning("desktop notifications are unavailable: %s", why)

    def _show(self, key: str, title: str, body: str) -> None:
        # jeepney is imported here, on the thread: only Linux installs it (pyproject.toml).
        from jeepney.wrappers import DBusErrorResponse

        try:
            if self._router is None and not self._connect():
                return
            if not self._ready:  # a service that reads the body as markup: keep text text
                self._markup = "body-markup" in self._call("GetCapabilities")[0]
                self._ready = True
            if self._markup:
                body = html.escape(body, quote=False)
            hints = {"category": ("s", "im.received")}
            actions = ["default", "Open"]
            replaces = self._ids.get(key, 0)
            args = (APP_NAME, replaces, self.icon, title, body, actions, hints, -1)
            notification = self._call("Notify", "susssasa{sv}i", args)[0]
        except DBusErrorResponse as exc:  # no notification service on the bus (yet)
            self._ready = False
            self._forget_service()
            self._warn(f"no notification service on the session bus ({exc.name})")
            return
        except Exception as exc:  # the bus went away: a notification never breaks the chat
            self._warn(f"the D-Bus session bus failed ({exc or type(exc).__name__})")
            self._disconnect()
            return
        old = self._ids.get(key)
        if old is not None:
            self._keys.pop(old, None)
        self._ids[key] = notification
        self._keys[notification] = key

    def _withdraw(self, key: str) -> None:
        from jeepney.wrappers import DBusErrorResponse

        notification = self._ids.pop(key, None)
        if notification is None or self._router is None:
            return  # never shown, already closed, or the bus went with it
        self._keys.pop(notification, None)
        try:
            self._call("CloseNotification", "u", (notification,))
        except DBusErrorResponse:
            pass  # the spec's answer when it is gone already (dismissed, expired): done
        except Exception as exc:
            self._warn(f"the D-Bus session bus failed ({exc or type(exc).__name__})")
            self._disconnect()

    def _call(self, method: str, signature: str | None = None, args: tuple[Any, ...] = ()) -> Any:
        """Call ``method`` of the notification service; its reply's values."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        address = DBusAddress(OBJECT_PATH, bus_name=SERVICE, interface=INTERFACE)
        call = new_method_call(address, method, signature, args)
        return unwrap_msg(self._router.send_and_get_reply(call, timeout=CALL_TIMEOUT))

    def _connect(self) -> bool:
        """Open the session bus and listen for the notification service's signals."""
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import DBusRouter, open_dbus_connection

        address = session_bus_address()
        if address is None:
            self._warn("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
            return False
        try:
            self._connection = open_dbus_connection(address, auth_timeout=CALL_TIMEOUT)
        except Exception as exc:  # refused, no such socket, an address jeepney cannot use
            self._warn(f"cannot connect to the D-Bus session bus at {address} ({exc})")
            self._connection = None
            return False
        self._router = DBusRouter(self._connection)
        rule = MatchRule(type="signal", interface=INTERFACE, path=OBJECT_PATH)
        self._router.filter(rule, queue=self._inbox)  # signals join the requests' inbox
        self._router.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT)
        return True

    def _forget_service(self) -> None:
        """The service went (or never was): its ids mean nothing to the next one."""
        self._ids.clear()
        self._keys.clear()

    def _disconnect(self) -> None:
        router, connection = self._router, self._connection
        self._router = self._connection = None
        self._ready = False
        self._forget_service()
        if router is not None:
            router.close()
        if connection is not None:
            connection.close()

    def _signal(self, message: Any) -> None:
        """ActionInvoked (a click): tell the controller; NotificationClosed: forget the id."""
        from jeepney import HeaderFields

        member = message.header.fields.get(HeaderFields.member)
        body = message.body
        if member == "ActionInvoked" and len(body) >= 2 and body[1] == "default":
            key = self._keys.get(body[0])
            if key is not None:
                self.events.put(ev.NotificationClicked(key))
        elif member == "NotificationClosed" and body:
            key = self._keys.pop(body[0], None)
            if key is not None and self._ids.get(key) == body[0]:
                del self._ids[key]


class Alerts:
    """Decides, on the Tk thread, when a message asks for the user: a notification (when
    the setting is on) and the window's urgency hint (when it is not focused)."""

    def __init__(self, view: Any, settings: Settings | None, select: Callable[[str], None]) -> None:
        self.view = view
        #: Who shows the notifications (None: nobody). Whoever sets it closes it: :meth:`close`.
        self.notifier: Notifier | None = None
        self.settings = settings
        self.select = select
        self.enabled = settings.notifications if settings is not None else True
        #: Conversations with a notification up -> when its message was said.
        self._shown: dict[str, datetime | None] = {}
        view.set_handlers(notifications=self.set_enabled)  # the window's on/off toggle

    def message(self, key: str, line: Line) -> None:
        """A message arrived in conversation ``key``: alert the user if it is for them."""
        conversation = self.view.conversations.get(key)
        if line.own or line.kind not in _NOTIFYING or conversation is None:
            return
        if not (line.mention or is_direct(conversation.name)):
            return
        focused = self.view.has_focus()
        if focused and key == self.view.conversations.current:
            return  # they are reading it
        if not focused:
            self.view.set_urgent(True)
        if self.enabled and self.notifier is not None:
            self.notifier.notify(key, *notification_text(conversation.name, line))
            self._shown[key] = line.at

    def looked(self, key: str) -> None:
        """Conversation ``key`` is open in the window: when the window has the focus, the
        user sees it, so its notification goes."""
        if key in self._shown and self.view.has_focus() and key == self.view.conversations.current:
            self._withdraw(key)

    def read(self, key: str, when: datetime) -> None:
        """Conversation ``key`` was read up to ``when`` (here or in another window of the
        account): a notification about a message no later than that goes."""
        if key not in self._shown:
            return
        said = self._shown[key]
        if said is None or said <= when:
            self._withdraw(key)

    def _withdraw(self, key: str) -> None:
        del self._shown[key]
        if self.notifier is not None:
            self.notifier.withdraw(key)

    def clicked(self, event: ev.NotificationClicked) -> None:
        """A notification was clicked: its conversation, in the window brought forward."""
        self.view.present()
        if event.conversation in self.view.conversations:
            self.select(event.conversation)

    def set_enabled(self, on: bool) -> None:
        """The "Desktop notifications" setting was ticked or unticked: remember it."""
        self.enabled = on
        if self.settings is not None:
            self.settings.notifications = on
            self.settings.save()

    def close(self) -> None:
        """Stop the notifier (the window has closed)."""
        if self.notifier is not None:
            self.notifier.close()
