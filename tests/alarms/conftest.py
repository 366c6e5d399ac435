"""Real receivers for the alarms: an SMTP server (aiosmtpd) and an HTTP webhook receiver, both
on 127.0.0.1, started by the tests; and the environment that points the service at them."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cli_runner import Cli
from broker import free_port, make_certificates

HOST = "127.0.0.1"
PASSWORD = "s3cret-smtp-Passw0rd"


class SmtpServer:
    """A real SMTP server: every message it accepts is kept (parsed), with its envelope.

    ``certs``: STARTTLS offered and required (a throwaway CA, ``tests/broker.make_certificates``);
    ``users``: AUTH LOGIN / PLAIN required (over TLS only when ``certs`` is given)."""

    def __init__(self, port: int | None = None, certs: dict[str, Path] | None = None,
                 users: dict[str, str] | None = None):
        self.port = port or free_port()
        self.certs = certs
        self.users = users or {}
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> "SmtpServer":
        kwargs: dict[str, Any] = {}
        if self.certs:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certs["cert"], self.certs["key"])
            kwargs.update(tls_context=context, require_starttls=True)
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.certs is not None)
        self._controller = Controller(self, hostname=HOST, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_smtp(tmp_path):
    certs = make_certificates(tmp_path / "smtp-certs")
    server = SmtpServer(certs=certs, users={"tessdb": PASSWORD}).start()
    try:
        yield server
    finally:
        server.stop()


class WebhookReceiver:
    """An HTTP server that keeps every POST (path, headers, JSON body) and answers ``status``."""

    def __init__(self, status: int = 204):
        self.status = status
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), json.loads(raw)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/hooks/T0KEN-in-the-path"

    def bodies(self) -> list[Any]:
        return [body for _, _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


def mail_env(server: SmtpServer, **extra: str) -> dict[str, str]:
    """``TESSDB_ALARMS__...`` variables that send e-mail to ``server`` (plain SMTP unless
    ``SMTP_STARTTLS`` is given)."""
    env = {"TESSDB_ALARMS__SMTP_HOST": HOST, "TESSDB_ALARMS__SMTP_PORT": str(server.port),
           "TESSDB_ALARMS__SMTP_STARTTLS": "false", "TESSDB_ALARMS__SENDER": "tessdb@example.org",
           "TESSDB_ALARMS__RECEIVERS": '["ops@example.org", "night@example.org"]'}
    env.update({f"TESSDB_ALARMS__{k}": v for k, v in extra.items()})
    return env


def cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``tessdb-core ARGS`` as the operator runs it, with only the given TESSDB_ variables."""
    runner = Cli(cwd)
    del runner.env["TESSDB_LOGS__LEVEL"]
    runner.env.update(env)
    return runner(*args, check=False)
