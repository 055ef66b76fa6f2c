"""X requests the tests make through libX11: ask a window to close the way a window
manager's close button does (WM_DELETE_WINDOW), take the keyboard focus away from every
window, and read a window's urgency hint back from the X server.

xdotool 3.2016 can only destroy or kill a window; :func:`ask_to_close` sends the polite
request, so the program runs its own close handler.
"""

from __future__ import annotations

import ctypes
import ctypes.util

CLIENT_MESSAGE = 33  # X11's ClientMessage event type
NO_EVENT_MASK = 0


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _Event(ctypes.Union):
    _fields_ = [("client", _ClientMessage), ("pad", ctypes.c_long * 24)]


def ask_to_close(display: str, window: int) -> None:
    """Send ``window`` on ``display`` a WM_DELETE_WINDOW request, as a close button does."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_Event),
    ]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    if not connection:
        raise RuntimeError(f"cannot open X display {display!r}")
    try:
        event = _Event()
        event.client.type = CLIENT_MESSAGE
        event.client.window = window
        event.client.message_type = x11.XInternAtom(connection, b"WM_PROTOCOLS", False)
        event.client.format = 32
        event.client.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", False)
        event.client.data[1] = 0  # CurrentTime
        x11.XSendEvent(connection, window, False, NO_EVENT_MASK, ctypes.byref(event))
        x11.XFlush(connection)
    finally:
        x11.XCloseDisplay(connection)


def _x11() -> ctypes.CDLL:
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XSetInputFocus.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong]
    x11.XGetWMHints.restype = ctypes.POINTER(ctypes.c_long)  # flags come first
    x11.XGetWMHints.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XQueryTree.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_uint),
    ]
    return x11


def _open(x11: ctypes.CDLL, display: str) -> int:
    connection = x11.XOpenDisplay(display.encode())
    if not connection:
        raise RuntimeError(f"cannot open X display {display!r}")
    return connection


def drop_focus(display: str) -> None:
    """Give the keyboard focus to no window (XSetInputFocus None), as when the user goes to
    another application: every window on ``display`` loses it."""
    x11 = _x11()
    connection = _open(x11, display)
    try:
        x11.XSetInputFocus(connection, 0, 0, 0)  # None, RevertToNone, CurrentTime
        x11.XSync(connection, 0)
    finally:
        x11.XCloseDisplay(connection)


URGENCY_HINT = 1 << 8  # XWMHints.flags


def is_urgent(display: str, window: int) -> bool:
    """Whether the toplevel holding Tk window ``window`` (its ``winfo_id``) has the ICCCM
    urgency hint in its WM_HINTS, read from the X server."""
    x11 = _x11()
    connection = _open(x11, display)
    try:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.c_void_p(), ctypes.c_uint()
        x11.XQueryTree(
            connection,
            window,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        )
        if children:
            x11.XFree(children)
        hints = x11.XGetWMHints(connection, parent.value)  # Tk's wrapper carries WM_HINTS
        if not hints:
            return False
        flags = hints[0]
        x11.XFree(hints)
        return bool(flags & URGENCY_HINT)
    finally:
        x11.XCloseDisplay(connection)
