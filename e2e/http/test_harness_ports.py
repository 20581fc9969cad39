"""The ports the test stacks listen on. A port in the kernel's ephemeral range can be handed to any outgoing connection
between the moment the harness picks it and the moment a program binds it. The program then fails to start, and the
check that "something listens there" can still pass (another program, or loopback's self-connect). Through Apache this
showed as a closed connection without response on dextor's pages: its echo app had exited ("Address already in use"),
and Apache's proxy read no status line from that port ("AH01102: error reading status line")."""
import socket

import pytest

from helpers import BIN
from ssostack import Stack, free_port


def ephemeral_range():
    low, high = open("/proc/sys/net/ipv4/ip_local_port_range").read().split()
    return int(low), int(high)


def test_the_ports_picked_are_never_ones_the_kernel_gives_outgoing_connections():
    low, high = ephemeral_range()
    picked = [free_port() for _ in range(300)]
    inside = [p for p in picked if low <= p <= high]
    assert not inside, f"{len(inside)} of 300 ports picked in the ephemeral range {low}-{high}: {inside[:5]}"
    assert len(set(picked)) == len(picked), "one port picked twice in one run"
    assert all(p >= 1024 for p in picked)


def test_a_program_that_cannot_bind_its_port_is_a_start_error_even_when_another_answers_there(tmp_path):
    """The app's port is taken by another listener: the stack must not start as if the app were up."""
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", free_port()))
    squatter.listen(8)
    stack = Stack(tmp_path / "state", BIN, server="nginx")
    stack.app_ports["dextor"] = squatter.getsockname()[1]
    try:
        with pytest.raises(RuntimeError, match="echo app dextor: port .* is already taken"):
            stack.start_apps()
    finally:
        stack.stop()
        squatter.close()
