"""The unit folder's guard: a unit test that opens a network socket fails."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket")


def test_opening_an_inet_socket_fails() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_connecting_to_loopback_fails() -> None:
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)


def test_unix_sockets_stay_allowed() -> None:
    left, right = socket.socketpair()
    left.close()
    right.close()
