"""A real Dovecot IMAP server on loopback for tests (Debian's `dovecot-imapd`, 2.3).

`dovecot_server()` writes a throwaway config into a fresh folder and runs `dovecot -c FILE -F`
in the foreground — no systemd, no system config — with:
- one test user in a passwd-file (`tester` / `s3cret`), plaintext login allowed (loopback only);
- IMAP with STARTTLS on one free port and implicit TLS on another, with a self-signed
  certificate the tests trust (`Dovecot.cafile`);
- the mail in a Maildir under the folder, owned by a non-root uid: as root the mail processes
  run as `nobody` and the internal ones as Debian's `dovecot`/`dovenull` (Dovecot refuses root
  there); as anyone else, everything runs as that user.
The folder is made with mkdtemp and opened to the mail uid: pytest's own tmp folders are 0700
and root-owned, which `nobody` cannot enter.

`restart()` and `stop()` let tests take the server away mid-run; the Maildir survives.
The session fixture `dovecot` starts one server per session, installing the package first when
/usr/sbin/dovecot is missing (scripts/system_deps.sh: apt, as root).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.smtp_server import self_signed_certificate

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
USER, PASSWORD = "tester", "s3cret"
ROOT = Path(__file__).resolve().parents[2]

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = liandong-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u/Maildir
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {internal_user}
  }}
  unix_listener stats-writer {{
    user = {internal_user}
  }}
}}
"""


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int
    host: str = HOST
    user: str = USER
    password: str = PASSWORD
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def cafile(self) -> Path:
        return self.root / "cert.pem"

    def start(self) -> None:
        # A process group of its own: its imap, log and stats children outlive the master's
        # SIGTERM (reparented to init), so stop() ends the whole group.
        self.process = subprocess.Popen([str(DOVECOT), "-c", str(self.root / "dovecot.conf"), "-F"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while not _answers(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not start: {self.log()[-2000:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        """End the server and every process of its group: open client connections drop."""
        if self.process is None:
            return
        group = self.process.pid
        _signal_group(group, signal.SIGTERM)
        self.process.wait(15)
        deadline = time.monotonic() + 5
        while _signal_group(group, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(group, signal.SIGKILL)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(self.user, self.password)
        try:
            yield imap
        finally:
            imap.logout()

    def append(self, raw: bytes, mailbox: str = "INBOX", when: datetime | None = None) -> None:
        with self.client() as imap:
            typ, data = imap.append(mailbox, None, imaplib.Time2Internaldate(when) if when else None, raw)
            assert typ == "OK", data

    def uids(self, mailbox: str = "INBOX") -> list[int]:
        """UIDs in a mailbox; [] when it does not exist."""
        with self.client() as imap:
            typ, _ = imap.select(mailbox, readonly=True)
            if typ != "OK":
                return []
            _, data = imap.uid("SEARCH", None, "ALL")
        return [int(uid) for uid in data[0].split()]

    def empty(self) -> None:
        """Delete every folder but INBOX and every message in INBOX, between tests."""
        with self.client() as imap:
            _, folders = imap.list()
            for line in folders:
                name = line.decode().rsplit(" ", 1)[-1].strip('"')
                if name != "INBOX":
                    imap.delete(name)
            imap.select("INBOX")
            imap.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
            imap.expunge()


@contextmanager
def dovecot_server() -> Iterator[Dovecot]:
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="liandong-dovecot-"))
    try:
        server = _configure(root)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_installed() -> None:
    if not DOVECOT.exists():
        subprocess.run([str(ROOT / "scripts" / "system_deps.sh"), "dovecot-imapd"], check=True)


def _configure(root: Path) -> Dovecot:
    server = Dovecot(root, free_port(), free_port())
    os.chmod(root, 0o755)
    self_signed_certificate(root)
    mail = root / "mail"
    mail.mkdir()
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    if os.geteuid() == 0:
        uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        os.chown(mail, uid, gid)
        users = {"internal_user": "dovecot", "internal_group": "dovecot", "login_user": "dovenull"}
    else:
        uid, gid = os.getuid(), os.getgid()
        me, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
        users = {"internal_user": me, "internal_group": group, "login_user": me}
    (root / "dovecot.conf").write_text(_CONFIG.format(
        root=root, host=HOST, port=server.port, tls_port=server.tls_port, uid=uid, gid=gid, **users))
    return server


def _signal_group(group: int, sig: int) -> bool:
    """Send `sig` to the process group; False when no process of it is left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True



def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the whole session. Import it into tests/conftest.py to share it between
    modules (a fixture imported into two test modules would start two servers)."""
    with dovecot_server() as server:
        yield server
