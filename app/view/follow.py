"""Following the end of the transcript: a state the user's scrolling decides.

Tk reports the view after every layout (a resize, a re-wrap, a font change), so "at the
bottom" read back from the view is lost whenever the text reflows: a narrower window wraps
more lines and pushes the end out of sight. Here the transcript follows the end until the
user scrolls away from it, and again once the user comes back to the end. Scrolling is
told apart from reflowing by watching the Text's own commands (``yview`` with arguments,
``see``, ``scan``): the bindings, the scrollbar and callers all go through them, a reflow
never does. While the user reads older lines, a "↓ N new messages" button over the
transcript's bottom counts what arrived and jumps to the end.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable

import ttkbootstrap as ttk

#: The Text's widget commands that move the view on someone's behalf.
_SCROLLING = ("yview", "see", "scan")


def new_messages_text(count: int) -> str:
    """The button's label: ``↓ 3 new messages``."""
    return f"↓ {count} new message{'' if count == 1 else 's'}"


class Follower:
    """Whether ``text`` follows its end, kept through reflows; the new-messages button."""

    def __init__(
        self,
        text: tkinter.Text,
        overlay: tkinter.Misc,
        on_end: Callable[[], object] | None = None,
    ) -> None:
        self.text = text
        #: Called when the view comes back to the end (what is there is being read).
        self.on_end = on_end
        #: True while the view stays at the end as lines arrive.
        self.following = True
        #: Messages that arrived while the user was reading older lines.
        self.unseen = 0
        self._quiet = 0
        self._pin_job: str | None = None
        self.closed = False
        self.button = ttk.Button(overlay, text="", bootstyle="primary", command=self.jump)
        self._watch()

    # --- telling the user's scrolling from a reflow -------------------------------------
    def _watch(self) -> None:
        """Route the Text's widget command through a Tcl proc that reports scrolling."""
        text = self.text
        path = str(text)
        original = f"{path}#kibitz"
        report = text.register(self._scrolled)
        text.tk.call("rename", path, original)
        # Runs the real command, then says so when it moved the view (a bare ``yview`` only
        # asks where the view is). Tcl names here hold no spaces or braces: safe to embed.
        body = (
            f"set result [{original} {{*}}$args]\n"
            "set op [lindex $args 0]\n"
            f"if {{$op in {{{' '.join(_SCROLLING)}}} && ($op ne {{yview}} || [llength $args] > 1)}}"
            f" {{ {report} }}\n"
            "return $result"
        )
        text.tk.call("proc", path, "args", body)

        def unwatch(event: tkinter.Event) -> None:
            if event.widget is text:
                try:
                    text.tk.call("rename", path, "")
                except tkinter.TclError:
                    pass

        text.bind("<Destroy>", unwatch, add="+")

    def _scrolled(self) -> None:
        if not self._quiet:
            self._set(self.at_end())

    def quietly(self, action: Callable[[], object]) -> None:
        """Run ``action``, a scroll of the transcript's own, which decides nothing."""
        self._quiet += 1
        try:
            action()
        finally:
            self._quiet -= 1

    def at_end(self) -> bool:
        """True when the last line is in view."""
        text = self.text
        if text.winfo_ismapped():
            return text.dlineinfo("end-1c") is not None
        return float(text.yview()[1]) >= 1.0

    def _set(self, following: bool) -> None:
        came_back = following and not self.following
        self.following = following
        if following:
            self.unseen = 0
            self.button.place_forget()
        if came_back and self.on_end is not None:
            self.on_end()

    # --- keeping to the end -------------------------------------------------------------
    def reflowed(self, last: float) -> None:
        """Tk laid the text out again: a view that follows goes back to the end."""
        if self.following and last < 1.0 and self._pin_job is None and not self.closed:
            # On the root, whose after_cancel also forgets the job's Tcl command.
            self._pin_job = self.text.winfo_toplevel().after_idle(self._pin)

    def _pin(self) -> None:
        self._pin_job = None
        if self.following:
            self.to_end()

    def to_end(self) -> None:
        """Show the end (the transcript's own scroll)."""
        self.quietly(lambda: self.text.yview_moveto(1.0))

    def jump(self) -> None:
        """Go to the end and follow it again (the button, End)."""
        self.to_end()
        self._set(True)

    def reset(self) -> None:
        """Another conversation is shown, from its end."""
        self.to_end()
        self._set(True)

    def arrived(self, counted: bool) -> None:
        """A line was added at the end: follow it, or count it when it is a message."""
        if self.following:
            self.to_end()
        elif counted:
            self.unseen += 1
            self.button.configure(text=new_messages_text(self.unseen))
            # Over the text's own bottom edge, whatever the frame holds under it.
            self.button.place(in_=self.text, relx=0.5, rely=1.0, anchor="s", y=-12)
            self.button.lift()

    def cancel(self) -> None:
        """Drop a pending return to the end: the window closes."""
        self.closed = True
        if self._pin_job is not None:
            self.text.winfo_toplevel().after_cancel(self._pin_job)
            self._pin_job = None
