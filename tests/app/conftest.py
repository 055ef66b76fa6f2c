"""Fixtures for the app's tests: models against a real server, settings in a temp dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.model import ChatModel
from tests.app.helpers import EventLog


@pytest.fixture(autouse=True)
def _config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's settings out of the real home directory."""
    monkeypatch.setenv("KIBITZ_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


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
