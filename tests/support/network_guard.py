"""Pytest plugin: a connection to anything but loopback fails the test loudly.

Enable it for the whole suite in tests/conftest.py::

    pytest_plugins = ["tests.support.network_guard"]

It patches `socket.socket.connect`/`connect_ex`, `socket.getaddrinfo` and the asyncio loop's
`create_connection`/`getaddrinfo`: a non-loopback host raises `NetworkAccessBlocked` at once,
and, in case the code under test swallows that error (retry loops do), the test still fails at
teardown. Loopback is 127.0.0.0/8, ::1 and localhost; Unix sockets are allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class NetworkAccessBlocked(RuntimeError):
    """Raised when a test tries to reach a host that is not loopback."""


class NetworkGuard:
    """Collects blocked attempts; a test that expects one takes it with take_violations()."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def check(self, host: object, what: str) -> None:
        """Raise (and remember) when `host` is not a loopback host."""
        if is_loopback(host):
            return
        message = f"network access blocked in tests: {what} to {host!r}"
        self.violations.append(message)
        raise NetworkAccessBlocked(message)

    def take_violations(self) -> list[str]:
        """The blocked attempts so far; clears them so teardown does not fail the test."""
        taken, self.violations = self.violations, []
        return taken


def is_loopback(host: object) -> bool:
    """Whether `host` (a name, an address, or None for a local bind) stays on this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower().split("%", 1)[0]
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def install(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """Patch the socket and asyncio entry points; monkeypatch undoes it after the test."""
    guard = NetworkGuard()
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo
    original_loop_connect = asyncio.BaseEventLoop.create_connection
    original_loop_getaddrinfo = asyncio.BaseEventLoop.getaddrinfo

    def target_host(sock: socket.socket, address: Any) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            return address[0]
        return None  # Unix sockets and other local families

    def connect(self: socket.socket, address: Any) -> None:
        guard.check(target_host(self, address), "socket.connect")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard.check(target_host(self, address), "socket.connect_ex")
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check(host, "socket.getaddrinfo")
        return original_getaddrinfo(host, *args, **kwargs)

    async def loop_create_connection(
        self: asyncio.BaseEventLoop, protocol_factory: Any, host: Any = None, *args: Any, **kw: Any
    ) -> Any:
        guard.check(host, "loop.create_connection")
        return await original_loop_connect(self, protocol_factory, host, *args, **kw)

    async def loop_getaddrinfo(
        self: asyncio.BaseEventLoop, host: Any, *args: Any, **kwargs: Any
    ) -> Any:
        guard.check(host, "loop.getaddrinfo")
        return await original_loop_getaddrinfo(self, host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", loop_create_connection)
    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", loop_getaddrinfo)
    return guard


def fail_on_violations(guard: NetworkGuard) -> None:
    """Fail the test if blocked attempts are left (e.g. swallowed by a retry loop)."""
    left = guard.take_violations()
    if left:
        pytest.fail("test tried to reach the network:\n  " + "\n  ".join(left), pytrace=False)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Every test runs with the network limited to loopback."""
    guard = install(monkeypatch)
    yield guard
    fail_on_violations(guard)
