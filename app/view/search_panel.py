"""The search panel (Ctrl+F): a query entry, what the search found, and its results,
above the transcript. It fires ``search`` with the query, ``search_jump`` with the
chosen result's item, and ``search_closed``; the controller fills it."""

from __future__ import annotations

import tkinter
import tkinter.font
from collections.abc import Callable, Sequence

import ttkbootstrap as ttk

from app.search import Row
from app.text import sanitize
from app.ui import Fonts, then_break

#: The results list's columns: heading and width in characters.
COLUMNS = (("time", "Time", 16), ("where", "Conversation", 14), ("who", "Sender", 12))
ROWS_SHOWN = 8


class SearchPanel(ttk.Frame):
    """Query entry, status line and results of a search; hidden until opened."""

    def __init__(self, master: tkinter.Misc, fonts: Fonts, fire: Callable[..., None]) -> None:
        super().__init__(master, padding=(0, 0, 0, 6))
        self.fire = fire
        self.items: list[object] = []  # what each row stands for, by row index
        self.is_open = False
        top = ttk.Frame(self)
        top.pack(side=tkinter.TOP, fill=tkinter.X)
        ttk.Label(top, text="Search", font=fonts.bold).pack(side=tkinter.LEFT, padx=(0, 6))
        self.close_button = ttk.Button(
            top, text="✕", bootstyle="secondary-link", command=self.close, takefocus=False
        )
        self.close_button.pack(side=tkinter.RIGHT)
        self.search_entry = ttk.Entry(top)
        self.search_entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True)
        self.status_label = ttk.Label(self, text="", font=fonts.small, bootstyle="secondary")
        self.status_label.pack(side=tkinter.TOP, fill=tkinter.X, pady=(2, 2))
        names = [name for name, _, _ in COLUMNS] + ["text"]
        self.results = ttk.Treeview(
            self, columns=names, show="headings", height=ROWS_SHOWN, selectmode="browse"
        )
        # Measured in the list's own font (Tk's default): a time must fit its column.
        width = tkinter.font.nametofont("TkDefaultFont").measure("0")
        for name, heading, chars in COLUMNS:
            self.results.heading(name, text=heading, anchor="w")
            self.results.column(name, width=width * chars, stretch=False, anchor="w")
        self.results.heading("text", text="Message", anchor="w")
        self.results.column("text", width=width * 30, stretch=True, anchor="w")
        self.results.pack(side=tkinter.TOP, fill=tkinter.X)
        self.search_entry.bind("<Return>", self.on_search)
        self.search_entry.bind("<KP_Enter>", self.on_search)
        self.search_entry.bind("<Down>", self.on_down)
        for widget in (self.search_entry, self.results):
            widget.bind("<Escape>", then_break(self.close))
        self.results.bind("<ButtonRelease-1>", self.on_click)
        self.results.bind("<Return>", self.on_choose)

    # --- opening and closing ------------------------------------------------------------
    def open(self, before: tkinter.Misc) -> None:
        """Show the panel above ``before`` and put the cursor in its query, all selected."""
        if not self.is_open:
            self.pack(side=tkinter.TOP, fill=tkinter.X, before=before)
            self.is_open = True
        self.search_entry.focus_set()
        self.search_entry.select_range(0, "end")
        self.search_entry.icursor("end")

    def close(self) -> None:
        """Hide the panel (its query and results stay for the next Ctrl+F)."""
        if self.is_open:
            self.pack_forget()
            self.is_open = False
            self.fire("search_closed")

    # --- what the user does -------------------------------------------------------------
    def on_search(self, _event: tkinter.Event | None = None) -> str:
        """Return in the query: search for it."""
        query = self.search_entry.get().strip()
        if query:
            self.fire("search", query)
        return "break"

    def on_down(self, _event: tkinter.Event) -> str:
        """Down in the query: on to the results."""
        children = self.results.get_children()
        if children:
            self.results.focus_set()
            self.results.focus(children[0])
            self.results.selection_set(children[0])
        return "break"

    def on_click(self, event: tkinter.Event) -> None:
        """A click on a result: jump to it."""
        row = self.results.identify_row(event.y)
        if row:
            self.choose(row)

    def on_choose(self, _event: tkinter.Event) -> str:
        """Return on a result: jump to it."""
        row = self.results.focus()
        if row:
            self.choose(row)
        return "break"

    def choose(self, row: str) -> None:
        """Jump to the result of ``row`` (its id)."""
        index = int(row)
        if 0 <= index < len(self.items):
            self.results.selection_set(row)
            self.fire("search_jump", self.items[index])

    # --- what the controller shows ------------------------------------------------------
    def show_results(self, rows: Sequence[tuple[Row, object]], status: str) -> None:
        """List ``rows`` (each shown as its texts, standing for its item) under ``status``."""
        self.results.delete(*self.results.get_children())
        self.items = [item for _, item in rows]
        for index, (texts, _) in enumerate(rows):
            shown = [sanitize(" ".join(text.split()), 300) for text in texts]
            self.results.insert("", "end", iid=str(index), values=shown)
        self.status_label.configure(text=status)

    def set_status(self, status: str) -> None:
        """Say what the search is doing (asking the server, what it found)."""
        self.status_label.configure(text=status)

    def rows(self) -> list[Row]:
        """The results shown, as their texts (for tests)."""
        return [
            tuple(str(v) for v in self.results.item(row, "values"))  # type: ignore[misc]
            for row in self.results.get_children()
        ]
