"""Loopback ports for the real servers the tests start (Prefect, Dovecot, PostgreSQL), and for
"server down" (nothing listens on a port just released)."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
