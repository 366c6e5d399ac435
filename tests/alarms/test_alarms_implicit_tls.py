"""E-mail over implicit TLS (SMTPS, the port 465 kind): ``alarms.smtp_implicit_tls`` against a
real aiosmtpd server that speaks TLS from the first byte, with a login; a server whose
certificate is unknown is refused in one line; the STARTTLS path is checked beside it."""

from __future__ import annotations

import ssl

import pytest
from aiosmtpd.controller import Controller

from broker import make_certificates

from .conftest import HOST, PASSWORD, SmtpServer, cli, mail_env

#: aiosmtpd warns about AUTH without STARTTLS; here the whole session is TLS from the first byte
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class SmtpsServer(SmtpServer):
    """The same recording server, with TLS from the first byte instead of STARTTLS."""

    def start(self) -> "SmtpsServer":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certs["cert"], self.certs["key"])
        self._controller = Controller(self, hostname=HOST, port=self.port, ssl_context=context,
                                      authenticator=self._authenticate, auth_required=True,
                                      auth_require_tls=False)  # the whole session is TLS already
        self._controller.start()
        return self


@pytest.fixture
def smtps(tmp_path):
    server = SmtpsServer(certs=make_certificates(tmp_path / "smtps-certs"), users={"tessdb": PASSWORD}).start()
    try:
        yield server
    finally:
        server.stop()


def test_alarms_test_over_implicit_tls_with_login(tmp_path, smtps):
    env = mail_env(smtps, SMTP_IMPLICIT_TLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=PASSWORD,
                   CA_FILE=str(smtps.certs["ca"]))
    out = cli(tmp_path, env, "alarms", "test")
    assert out.returncode == 0, out.stderr
    assert smtps.logins == ["tessdb"] and len(smtps.messages) == 1


def test_starttls_to_an_implicit_tls_server_fails_in_one_line(tmp_path, smtps):
    """The positive control's opposite: without the setting the same server is not reached."""
    env = mail_env(smtps, SMTP_STARTTLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=PASSWORD,
                   CA_FILE=str(smtps.certs["ca"]))
    out = cli(tmp_path, env, "alarms", "test")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert PASSWORD not in out.stderr and smtps.messages == []


def test_implicit_tls_refuses_an_unknown_certificate_in_one_line(tmp_path, smtps):
    env = mail_env(smtps, SMTP_IMPLICIT_TLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=PASSWORD)  # system CAs
    out = cli(tmp_path, env, "alarms", "test")
    assert out.returncode == 2, out.stderr
    line = out.stderr.strip()
    assert "\n" not in line and "TLS certificate not accepted" in line and PASSWORD not in line
    assert smtps.messages == []
