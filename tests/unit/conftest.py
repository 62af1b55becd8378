"""Unit tests run without the network: every test of this folder starts with sockets blocked (pytest-socket)."""

from __future__ import annotations

import pytest
import pytest_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture of the test is set up, module-scoped ones included. Unix sockets stay allowed (an event
    # loop's self-pipe); a test that really needs the network asks for pytest-socket's `socket_enabled` fixture.
    pytest_socket.disable_socket(allow_unix_socket=True)
