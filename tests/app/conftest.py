"""Fixtures for the app's tests: models against a real server, settings in a temp dir."""

from __future__ import annotations

import gc
import tkinter
from collections.abc import Callable, Iterator

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from app.controller import ChatController
from app.model import ChatModel
from app.settings import Settings
from app.view import ChatView
from tests.app.helpers import EventLog, pump


@pytest.fixture(autouse=True)
def _config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's settings out of the real home directory."""
    monkeypatch.setenv("KIBITZ_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def _no_desktop_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """No window a test opens talks to the desktop's D-Bus session bus (no notification
    pops up there); the notification tests start a bus of their own."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/kibitz-tests-bus")


@pytest.fixture(autouse=True)
def keyring_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaintextKeyring]:
    """A real keyring backend (keyrings.alt's file) in a temp dir, never the user's."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path_factory.mktemp("keyring") / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def make_model() -> Iterator[Callable[..., tuple[ChatModel, EventLog]]]:
    """Build started models; each is stopped at the end of the test."""
    models: list[ChatModel] = []

    def build(port: int, nick: str = "alice", **options: object) -> tuple[ChatModel, EventLog]:
        model = ChatModel("127.0.0.1", port, nick, **options)  # type: ignore[arg-type]
        models.append(model)
        model.start()
        return model, EventLog(model.events)

    yield build
    for model in models:
        model.stop()


@pytest.fixture
def make_view() -> Iterator[Callable[..., ChatView]]:
    """Build the one Tk window of the process; destroyed and collected on this thread after."""
    views: list[ChatView] = []

    def build(**options: object) -> ChatView:
        view = ChatView(**options)  # type: ignore[arg-type]
        views.append(view)
        return view

    try:
        yield build
    finally:
        while views:
            view = views.pop()
            try:
                for job in view.root.tk.splitlist(view.root.tk.call("after", "info")):
                    view.root.after_cancel(job)
            except tkinter.TclError:
                pass  # already destroyed
            view.destroy()
            # No reference may outlive this frame: Tk objects must be collected here, on
            # the Tk thread, or a later collection on another thread aborts the process.
            del view
        gc.collect()


@pytest.fixture
def chat(server, make_view) -> Iterator[Callable[..., tuple[ChatController, ChatView]]]:
    """A running window (model + view + controller) connected to the test server."""
    controllers: list[ChatController] = []

    def build(nick: str = "alice", **view_options: object) -> tuple[ChatController, ChatView]:
        model = ChatModel("127.0.0.1", server.port, nick)
        view = make_view(**view_options)
        controller = ChatController(model, view, Settings.load())
        controllers.append(controller)
        controller.start()
        pump(view, lambda: model.registered and model.joined(), what="registered and joined")
        pump(view, lambda: view.conversations["#general"].members, what="member list")
        return controller, view

    try:
        yield build
    finally:
        while controllers:
            controllers.pop().close()


@pytest.fixture
def make_chat(make_view) -> Iterator[Callable[..., tuple[ChatController, ChatView]]]:
    """A started window whose model has the given options; nothing is awaited."""
    controllers: list[ChatController] = []

    def build(port: int, nick: str = "alice", **model_options: object):
        model = ChatModel("127.0.0.1", port, nick, **model_options)  # type: ignore[arg-type]
        view = make_view()
        controller = ChatController(model, view, Settings.load())
        controllers.append(controller)
        controller.start()
        return controller, view

    try:
        yield build
    finally:
        while controllers:
            controllers.pop().close()
