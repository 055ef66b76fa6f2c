"""A real D-Bus session bus for a test, and a notification service on it that records.

:func:`start_session_bus` runs ``dbus-daemon --nofork --print-address`` with a session
configuration of its own (a socket in the test's temporary directory, no service
activation, so nothing on this machine is started behind the test's back).
:class:`NotificationService` owns ``org.freedesktop.Notifications`` on that bus, answers
``Notify``, ``GetCapabilities``, ``GetServerInformation`` and ``CloseNotification`` as a
notification daemon does (a close emits ``NotificationClosed`` with reason 3, and an id no
longer shown gets the spec's error), records every ``Notify`` and close, and can emit
``ActionInvoked`` as a click would and ``NotificationClosed`` as a dismissal would.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusConnection, ReceiveStopped, open_dbus_connection
from jeepney.wrappers import new_method_return

from tests.support.waiting import DEADLINE

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class SessionBus:
    """A running ``dbus-daemon`` and the address clients connect to."""

    process: subprocess.Popen[str]
    address: str

    def stop(self) -> None:
        """Stop the daemon."""
        self.process.terminate()
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_session_bus(directory: Path) -> SessionBus:
    """Start a session bus whose socket lives in ``directory``; its address."""
    config = directory / "session.conf"
    config.write_text(_CONFIG.format(dir=directory), encoding="utf-8")
    process = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().strip()  # printed once it listens
    if not address:
        process.kill()
        raise AssertionError(f"dbus-daemon printed no address (exit {process.wait()})")
    return SessionBus(process, address)


@dataclass
class Notify:
    """One Notify call as the service received it."""

    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]
    expire_timeout: int
    id: int = 0


@dataclass
class NotificationService:
    """A notification daemon for tests: owns the name, records what it is asked to show."""

    address: str
    capabilities: list[str] = field(default_factory=lambda: ["body", "actions"])
    calls: list[Notify] = field(default_factory=list)
    #: The ids CloseNotification was called with, in order.
    closes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connection: DBusConnection = open_dbus_connection(self.address)
        self._next_id = 1
        self._open: set[int] = set()  # shown, neither closed nor dismissed
        self._lock = threading.Lock()
        serial = next(self.connection.outgoing_serial)
        self.connection.send(message_bus.RequestName(NAME), serial=serial)
        while True:  # before the serving thread starts, the reply is read here
            reply = self.connection.receive(timeout=DEADLINE)
            if reply.header.fields.get(HeaderFields.reply_serial) == serial:
                break
        assert reply.body == (1,), reply.body  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        self._thread = threading.Thread(target=self._serve, name="notification-service")
        self._thread.daemon = True
        self._thread.start()

    def _serve(self) -> None:
        try:
            while True:
                self._handle(self.connection.receive())
        except (ReceiveStopped, OSError):
            return

    def _handle(self, message: Any) -> None:
        header = message.header
        if header.message_type is not MessageType.method_call:
            return
        member = header.fields.get(HeaderFields.member)
        if member == "Notify":
            call = Notify(*message.body)
            with self._lock:
                if call.replaces_id:
                    call.id = call.replaces_id
                else:
                    call.id = self._next_id
                    self._next_id += 1
                self.calls.append(call)
                self._open.add(call.id)
            reply = new_method_return(message, "u", (call.id,))
        elif member == "CloseNotification":
            (notification,) = message.body
            with self._lock:
                self.closes.append(notification)
                shown = notification in self._open
                self._open.discard(notification)
            if not shown:  # "If the notification no longer exists, an empty D-BUS Error"
                self.connection.send(new_error(message, "org.freedesktop.DBus.Error.Failed"))
                return
            self.connection.send(new_method_return(message))
            self._closed_signal(notification, 3)  # 3: closed by a call to CloseNotification
            return
        elif member == "GetCapabilities":
            reply = new_method_return(message, "as", (self.capabilities,))
        elif member == "GetServerInformation":
            reply = new_method_return(message, "ssss", ("test", "Kibitz tests", "1", "1.2"))
        else:
            reply = new_error(message, "org.freedesktop.DBus.Error.UnknownMethod")
        self.connection.send(reply)

    def notified(self) -> list[Notify]:
        """The Notify calls received so far."""
        with self._lock:
            return list(self.calls)

    def closed(self) -> list[int]:
        """The ids CloseNotification was called with so far."""
        with self._lock:
            return list(self.closes)

    def _closed_signal(self, notification: int, reason: int) -> None:
        emitter = DBusAddress(PATH, interface=NAME)
        signal = new_signal(emitter, "NotificationClosed", "uu", (notification, reason))
        self.connection.send(signal)

    def click(self, notification: int, action: str = "default") -> None:
        """Emit ActionInvoked for ``notification``, as a click on it does."""
        emitter = DBusAddress(PATH, interface=NAME)
        self.connection.send(new_signal(emitter, "ActionInvoked", "us", (notification, action)))

    def dismiss(self, notification: int) -> None:
        """Emit NotificationClosed for ``notification`` (reason 2: the user dismissed it)."""
        with self._lock:
            self._open.discard(notification)
        self._closed_signal(notification, 2)

    def close(self) -> None:
        """Leave the bus."""
        self.connection.close()
        self._thread.join(timeout=DEADLINE)
