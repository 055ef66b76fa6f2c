"""Tk pieces both windows share (the chat window and the server window): the root, fonts,
palette, theme, status bar, tree and text styling, log trimming, the saved theme.

With :mod:`app.view`, the only app module that imports tkinter.
"""

from __future__ import annotations

import tkinter
import tkinter.font as tkfont
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ttkbootstrap as ttk

from app.settings import DEFAULT_THEME, Settings

#: The windows' icon, drawn by ``assets/make_icon.py``; ``app/kibitz.png`` links to it, so a
#: clone, an editable install and an installed wheel (which copies it) all have it.
ICON = Path(__file__).with_name("kibitz.png")
#: The X window class of both windows (WM_CLASS), so a desktop groups and labels them.
WINDOW_CLASS = "Kibitz"
#: Nick colours that read well on a light and on a dark background.
LIGHT_NICKS = (
    "#c92a2a", "#2b8a3e", "#1864ab", "#862e9c", "#d9480f", "#0b7285", "#a61e4d", "#5c940d",
    "#5f3dc4", "#b35c00", "#087f5b", "#364fc7", "#9c36b5", "#8a5a00", "#c2255c", "#3b5bdb",
)  # fmt: skip
DARK_NICKS = (
    "#ff8787", "#8ce99a", "#74c0fc", "#e599f7", "#ffa94d", "#66d9e8", "#f783ac", "#c0eb75",
    "#b197fc", "#ffd43b", "#63e6be", "#91a7ff", "#da77f2", "#d8a657", "#faa2c1", "#a5d8ff",
)  # fmt: skip
#: Member prefixes and the theme colour each is shown in.
PREFIX_COLOURS = {"~": "danger", "&": "danger", "@": "success", "%": "warning", "+": "info"}
#: Shown by the nick of someone the server says is signed in to an account.
SIGNED_IN_MARK = "✓"
#: Connection states and the colour of the status bar's dot.
STATE_STYLE = {
    "connected": "success",
    "connecting": "warning",
    "reconnecting": "warning",
    "disconnected": "danger",
    "closed": "secondary",
}


class NoDisplayError(RuntimeError):
    """There is no screen to open a window on (no X display, say)."""


def then_break(action: Callable[[], object]) -> Callable[[tkinter.Event], str]:
    """A key binding that runs ``action`` and stops the key there (Tk's ``"break"``)."""

    def run(_event: tkinter.Event) -> str:
        action()
        return "break"

    return run


def open_root(title: str, size: tuple[int, int], minsize: tuple[int, int]) -> ttk.App:
    """The one ttkbootstrap root of this process; :class:`NoDisplayError`, with what to
    do instead, when no window can be opened."""
    # Without our icon (a copy that lost it) ttkbootstrap's own is used.
    icon = str(ICON) if ICON.is_file() else ""
    try:
        return ttk.App(
            title=title,
            theme=DEFAULT_THEME,
            size=size,
            minsize=minsize,
            iconphoto=icon,
            className=WINDOW_CLASS,
        )
    except tkinter.TclError as exc:
        raise NoDisplayError(
            f"cannot open a window ({exc}); run it in a desktop session, where DISPLAY "
            "names the screen"
        ) from None


@dataclass(frozen=True)
class Fonts:
    """The fonts of a window, all of the desktop's family and size (at least 10 points)."""

    normal: tkfont.Font
    bold: tkfont.Font
    italic: tkfont.Font
    small: tkfont.Font
    title: tkfont.Font
    counter: tkfont.Font  # big numbers (the server window's counters)
    fixed: tkfont.Font  # a log


def make_fonts(root: tkinter.Misc) -> Fonts:
    """The fonts for ``root``."""
    base = tkfont.nametofont("TkDefaultFont").actual()
    size = max(10, int(base["size"]))
    family = base["family"]
    fixed = tkfont.nametofont("TkFixedFont").actual()["family"]
    return Fonts(
        normal=tkfont.Font(root=root, family=family, size=size),
        bold=tkfont.Font(root=root, family=family, size=size, weight="bold"),
        italic=tkfont.Font(root=root, family=family, size=size, slant="italic"),
        small=tkfont.Font(root=root, family=family, size=size - 1),
        title=tkfont.Font(root=root, family=family, size=size + 3, weight="bold"),
        counter=tkfont.Font(root=root, family=family, size=size + 5, weight="bold"),
        fixed=tkfont.Font(root=root, family=fixed, size=size - 1),
    )


def known_theme(theme: str) -> str:
    """A theme name ttkbootstrap knows: ``light``/``dark`` pick the default family's pair."""
    if theme in ("light", "dark"):
        return f"bootstrap-{theme}"
    return theme


def use_theme(root: ttk.App, theme: str) -> str:
    """Switch ``root`` to ``theme``; "" on success, else what to tell the user (the
    default theme stays)."""
    wanted = known_theme(theme)
    if wanted == DEFAULT_THEME:
        return ""
    try:
        root.theme_use(wanted)
    except tkinter.TclError:
        return f"Unknown theme {theme!r}; try one of: " + ", ".join(root.theme_names())
    return ""


def toggle_theme(root: ttk.App) -> str:
    """Switch between the light and dark variant; return the new theme's name."""
    root.toggle_theme()
    return str(root.theme_use())


def is_dark(root: ttk.App) -> bool:
    """True when ``root`` shows a dark theme."""
    return bool(root.theme_mode == "dark")


def saved_theme() -> str:
    """The theme the chat app was last used with (the server window matches it)."""
    return Settings.load().theme or DEFAULT_THEME


class StatusBar:
    """The bar along the bottom of a window (the chat window and the server window): a
    coloured dot, a line of text, and the light/dark switch. Packed first, so a small
    window squeezes its middle, never this bar."""

    def __init__(
        self,
        root: tkinter.Misc,
        font: tkfont.Font,
        text: str,
        dot_style: str,
        on_theme: Callable[[], object],
    ) -> None:
        self.frame = ttk.Frame(root, padding=(10, 3))
        self.frame.pack(side=tkinter.BOTTOM, fill=tkinter.X)
        self.dot = ttk.Label(self.frame, text="●", bootstyle=dot_style)
        self.dot.pack(side=tkinter.LEFT)
        self.label = ttk.Label(self.frame, text=text, font=font)
        self.label.pack(side=tkinter.LEFT, padx=(4, 0))
        self.theme_button = ttk.Button(
            self.frame, text="Dark mode", bootstyle="link", command=on_theme
        )
        self.theme_button.pack(side=tkinter.RIGHT)
        ttk.Separator(root).pack(side=tkinter.BOTTOM, fill=tkinter.X)

    def show(self, state: str, text: str) -> None:
        """Colour the dot for a connection ``state`` and show ``text`` (already sanitised)."""
        self.dot.configure(bootstyle=STATE_STYLE.get(state, "secondary"))
        self.label.configure(text=text)

    def wrap(self) -> None:
        """Let a long text (a certificate fingerprint) wrap instead of running under the
        button."""

        def rewrap(event: tkinter.Event) -> None:
            room = event.width - self.theme_button.winfo_reqwidth() - 60
            self.label.configure(wraplength=max(200, room))

        self.frame.bind("<Configure>", rewrap, add="+")

    def restyle(self, dark: bool) -> None:
        """The switch names the theme it switches to."""
        self.theme_button.configure(text="Light mode" if dark else "Dark mode")


def heading_label(parent: tkinter.Misc, text: str, font: tkfont.Font) -> ttk.Label:
    """A panel's small grey title (CONVERSATIONS, MEMBERS, USERS...), packed at the top."""
    label = ttk.Label(parent, text=text, font=font, bootstyle="secondary")
    label.pack(side=tkinter.TOP, anchor="w", pady=(0, 4))
    return label


def headed_tree(
    parent: tkinter.Misc, columns: list[tuple[str, str, int, bool]], height: int
) -> ttk.Treeview:
    """A table with headings and a scrollbar; ``columns`` are (name, title, width, stretch)."""
    box = ttk.Frame(parent)
    box.pack(side=tkinter.TOP, fill=tkinter.BOTH, expand=True)
    tree = ttk.Treeview(
        box, columns=[c[0] for c in columns], show="headings", selectmode="browse", height=height
    )
    for name, title, width, stretch in columns:
        tree.heading(name, text=title, anchor="w")
        tree.column(name, width=width, stretch=stretch, anchor="w")
    bar = ttk.Scrollbar(box, orient=tkinter.VERTICAL, command=tree.yview)
    tree.configure(yscrollcommand=bar.set)
    bar.pack(side=tkinter.RIGHT, fill=tkinter.Y)
    tree.pack(side=tkinter.LEFT, fill=tkinter.BOTH, expand=True)
    return tree


def style_text(text: tkinter.Text, colors: Any) -> None:
    """A read-only Text in the theme's input colours."""
    text.configure(
        background=colors.inputbg,
        foreground=colors.inputfg,
        selectbackground=colors.selectbg,
        selectforeground=colors.selectfg,
        insertbackground=colors.inputfg,
    )


def style_trees(style: Any, trees: Iterable[ttk.Treeview]) -> None:
    """The selected row in the accent colour, readable in light and dark."""
    colors = style.colors
    for tree in trees:
        style.map(
            tree.cget("style") or "Treeview",
            background=[("selected", colors.primary)],
            foreground=[("selected", "#ffffff")],
        )


def trim_lines(text: tkinter.Text, keep: int) -> None:
    """Delete the oldest lines of ``text`` beyond ``keep``, in chunks of a hundred (one
    delete per hundred lines is cheap; one per line is not)."""
    lines = int(text.index("end-1c").split(".")[0])
    if lines > keep + 100:
        text.delete("1.0", f"{lines - keep + 1}.0")
