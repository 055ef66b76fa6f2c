"""The window's urgency hint: the ICCCM ``XUrgencyHint`` flag of its WM_HINTS, which
taskbars and window managers show as "this window wants attention".

Tk 8.6 has no way to set it on X11 (``wm attributes`` there knows ``-alpha``, ``-topmost``,
``-zoomed``, ``-fullscreen`` and ``-type`` only), so this sets the flag through libX11 on
Tk's wrapper window, the one that carries WM_HINTS. Elsewhere (no X11, no libX11) it
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import tkinter

log = logging.getLogger("app.view.urgency")

#: XWMHints.flags bit for the urgency hint (Xutil.h).
URGENCY_HINT = 1 << 8


class XWMHints(ctypes.Structure):
    """Xlib's XWMHints."""

    _fields_ = [
        ("flags", ctypes.c_long),
        ("input", ctypes.c_int),
        ("initial_state", ctypes.c_int),
        ("icon_pixmap", ctypes.c_ulong),
        ("icon_window", ctypes.c_ulong),
        ("icon_x", ctypes.c_int),
        ("icon_y", ctypes.c_int),
        ("icon_mask", ctypes.c_ulong),
        ("window_group", ctypes.c_ulong),
    ]


def _libx11() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        x11 = ctypes.CDLL(name)
    except OSError:
        return None
    ulong, ptr = ctypes.c_ulong, ctypes.c_void_p
    x11.XOpenDisplay.restype = ptr
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ptr]
    x11.XFlush.argtypes = [ptr]
    x11.XFree.argtypes = [ptr]
    x11.XGetWMHints.restype = ctypes.POINTER(XWMHints)
    x11.XGetWMHints.argtypes = [ptr, ulong]
    x11.XSetWMHints.argtypes = [ptr, ulong, ctypes.POINTER(XWMHints)]
    x11.XQueryTree.argtypes = [
        ptr,
        ulong,
        ctypes.POINTER(ulong),
        ctypes.POINTER(ulong),
        ctypes.POINTER(ptr),
        ctypes.POINTER(ctypes.c_uint),
    ]
    return x11


class UrgencyHint:
    """Sets and clears the urgency hint of a Tk root window (only X calls when it changes)."""

    def __init__(self, root: tkinter.Misc) -> None:
        self.root = root
        self.urgent = False
        self._x11: ctypes.CDLL | None = None
        self._display: int | None = None
        self._broken = False

    def set(self, urgent: bool) -> None:
        """Ask for attention (True) or stop asking (False)."""
        if urgent == self.urgent or self._broken:
            return
        try:
            window = self._wrapper()
            if window is None:
                return
            assert self._x11 is not None
            found = self._x11.XGetWMHints(self._display, window)
            hints = XWMHints.from_buffer_copy(found.contents) if found else XWMHints()
            if found:
                self._x11.XFree(found)
            if urgent:
                hints.flags |= URGENCY_HINT
            else:
                hints.flags &= ~URGENCY_HINT
            self._x11.XSetWMHints(self._display, window, ctypes.byref(hints))
            self._x11.XFlush(self._display)
            self.urgent = urgent
        except (tkinter.TclError, OSError, ValueError) as exc:
            log.warning("cannot set the window's urgency hint: %s", exc)
            self._broken = True

    def _wrapper(self) -> int | None:
        """Tk's wrapper window of the root (the parent of ``winfo id``), once X is open."""
        if self._display is None:
            if self.root.tk.call("tk", "windowingsystem") != "x11":
                self._broken = True
                return None
            self._x11 = _libx11()
            screen = self.root.winfo_screen().encode()
            display = self._x11.XOpenDisplay(screen) if self._x11 is not None else None
            if not display:
                self._broken = True
                return None
            self._display = display
        assert self._x11 is not None
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.c_void_p(), ctypes.c_uint()
        inner = self.root.winfo_id()
        if not self._x11.XQueryTree(
            self._display,
            inner,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        ):
            return None
        if children:
            self._x11.XFree(children)
        return parent.value or inner

    def close(self) -> None:
        """Close the X connection this opened (the window is going)."""
        if self._display is not None and self._x11 is not None:
            self._x11.XCloseDisplay(self._display)
        self._display = None
