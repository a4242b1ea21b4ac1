"""A Dovecot of the test's own on 127.0.0.1: a port the OS picks, a config, a passwd-file and a
Maildir in a temporary folder, TLS with a certificate of a CA made by trustme (the client is
given the CA, as `[inbox] ca_file`). Skipped where `dovecot` is not installed, unless
ANNOUNCER_REQUIRE_DOVECOT=1 (CI), where that fails instead."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

USER = "seminars"
PASSWORD = "imap-test-password"  # a throwaway test account's
READY_SECONDS = 30


@dataclass(frozen=True)
class Dovecot:
    port: int
    ca_file: Path
    maildir: Path  # USER's Maildir, as Dovecot keeps it

    def url(self, folder: str = "INBOX") -> str:
        return f"imaps://{USER}@127.0.0.1:{self.port}/{folder}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mail_owner() -> pwd.struct_passwd:
    """Whose the mail is: ours, or where the test runs as root (Dovecot serves no mail as uid 0)
    Dovecot's own user's."""
    return pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())


def _config(root: Path, port: int, extra: str) -> str:
    owner = _mail_owner()
    as_root = os.getuid() == 0
    internal = "dovecot" if as_root else owner.pw_name
    login = "dovenull" if as_root else owner.pw_name
    dh = Path("/usr/share/dovecot/dh.pem")
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
{f"ssl_dh = <{dh}" if dh.exists() else ""}
auth_mechanisms = plain
disable_plaintext_auth = yes
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {owner.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={root}/home/%u
}}
mail_location = maildir:{root}/home/%u/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
{extra}
"""


@contextmanager
def running_dovecot(root: Path, extra: str = "") -> Iterator[Dovecot]:
    """Dovecot on 127.0.0.1 serving one account from a Maildir under `root`; `extra`: more of
    its settings."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        if os.environ.get("ANNOUNCER_REQUIRE_DOVECOT") == "1":
            pytest.fail("Dovecot is required here: apt-get install dovecot-imapd")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_pem.write_to_path(str(root / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    maildir = root / "home" / USER / "Maildir"
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    os.chmod(root, 0o755)  # the login processes run as another user where the test is root
    owner = _mail_owner()
    for folder in (
        root / "home",
        root / "home" / USER,
        maildir,
        *(maildir / part for part in ("cur", "new", "tmp")),
    ):
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root, port, extra))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        _wait_until_ready(port, root / "ca.pem", process, root)
        yield Dovecot(port, root / "ca.pem", maildir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_ready(port: int, ca_file: Path, process: subprocess.Popen[bytes], root: Path) -> None:
    """Until Dovecot greets over TLS (or has died, saying why)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"Dovecot stopped: {stderr} {log}")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                if tls.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)  # not listening yet: the only wait here is for Dovecot itself
    pytest.fail(f"Dovecot did not answer on 127.0.0.1:{port} within {READY_SECONDS} s")
