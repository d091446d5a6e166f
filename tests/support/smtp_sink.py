"""An aiosmtpd server in a process of its own that stores every message's raw bytes in a Maildir.

    python -m tests.support.smtp_sink MAILDIR

binds 127.0.0.1 on a free port, prints the port on the first line of stdout and serves until
terminated. A separate process keeps the server's CPU work off the GIL of the process being
measured (benchmarks) or killed (crash tests); `sink_process` runs it as a context manager.
"""

from __future__ import annotations

import asyncio
import mailbox
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


class RawMaildir:
    def __init__(self, folder: Path):
        self.box = mailbox.Maildir(folder, factory=None, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.box.add(envelope.original_content)
        return "250 OK"


@contextmanager
def sink_process(folder: Path) -> Iterator[tuple[int, int]]:
    """(port, pid) of a running sink; the process is terminated on exit."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.smtp_sink", str(folder)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline()), proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def _serve(folder: Path) -> None:
    sock = socket.socket()
    sock.bind((HOST, 0))
    handler = RawMaildir(folder)
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler, hostname="sink.test"), sock=sock)
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(_serve(Path(sys.argv[1])))
