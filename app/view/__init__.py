"""The chat window as panels, one module each: sidebar, header, transcript, members, input
row and dialogs, put together by :class:`ChatView`. With :mod:`app.ui`, the only app code
that imports tkinter; no sockets here."""

from app.ui import NoDisplayError, StatusBar, open_root
from app.view.transcript import CHATHISTORY_SEPARATOR
from app.view.window import ChatView

__all__ = ["CHATHISTORY_SEPARATOR", "ChatView", "NoDisplayError", "StatusBar", "open_root"]
