"""``tessdb-core alarms test`` against a real SMTP server (plain; STARTTLS with a throwaway CA
and a login) and a local webhook receiver: success, and failure as exit 2 with one line."""

from __future__ import annotations

from broker import free_port

from .conftest import PASSWORD, WebhookReceiver, cli, mail_env


def _one_line_error(out) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("tessdb-core: error: "), out.stderr
    return lines[0]


def test_alarms_test_sends_one_email_to_every_receiver(tmp_path, smtp):
    out = cli(tmp_path, mail_env(smtp), "alarms", "test")
    assert out.returncode == 0, out.stderr
    assert f"SMTP 127.0.0.1:{smtp.port}" in out.stdout
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert "TEST" in msg["Subject"] and msg["From"] == "tessdb@example.org"
    assert smtp.envelopes == [("tessdb@example.org", ["ops@example.org", "night@example.org"])]
    assert "test message of tessdb-core's alarms" in msg.get_content()
    assert not (tmp_path / "tessdb-alarms.db").exists()  # a test message is no alarm


def test_alarms_test_with_starttls_and_login(tmp_path, tls_smtp):
    env = mail_env(tls_smtp, SMTP_STARTTLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=PASSWORD,
                   CA_FILE=str(tls_smtp.certs["ca"]))
    out = cli(tmp_path, env, "alarms", "test")
    assert out.returncode == 0, out.stderr
    assert tls_smtp.logins == ["tessdb"] and len(tls_smtp.messages) == 1


def test_alarms_test_refuses_an_unknown_certificate_in_one_line(tmp_path, tls_smtp):
    env = mail_env(tls_smtp, SMTP_STARTTLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=PASSWORD)  # system CAs
    line = _one_line_error(cli(tmp_path, env, "alarms", "test"))
    assert f"SMTP 127.0.0.1:{tls_smtp.port}: TLS certificate not accepted" in line
    assert not tls_smtp.messages


def test_a_refused_login_is_one_line_without_the_password(tmp_path, tls_smtp):
    wrong = "Wr0ng-" + PASSWORD
    env = mail_env(tls_smtp, SMTP_STARTTLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=wrong,
                   CA_FILE=str(tls_smtp.certs["ca"]))
    out = cli(tmp_path, env, "alarms", "test")
    line = _one_line_error(out)
    assert "login refused: 535" in line
    assert wrong not in out.stdout + out.stderr
    assert wrong not in cli(tmp_path, env, "settings", "show").stdout  # alarms.smtp_password is a secret


def test_a_server_that_is_down_is_exit_2_and_one_line(tmp_path):
    port = free_port()
    env = mail_env(type("S", (), {"port": port})())
    line = _one_line_error(cli(tmp_path, env, "alarms", "test"))
    assert line == f"tessdb-core: error: SMTP 127.0.0.1:{port}: Connection refused"


def test_alarms_test_posts_the_json_body_to_the_webhook(tmp_path, webhook):
    out = cli(tmp_path, {"TESSDB_ALARMS__WEBHOOK_URL": webhook.url}, "alarms", "test")
    assert out.returncode == 0, out.stderr
    assert len(webhook.requests) == 1
    path, headers, body = webhook.requests[0]
    assert path == "/hooks/T0KEN-in-the-path" and headers["Content-Type"] == "application/json"
    assert body["source"] == "tessdb-core" and body["event"] == "test" and body["alarms"] == []
    assert body["subject"].endswith("TEST: alarms reach you") and "test message" in body["text"]
    assert "T0KEN" not in out.stdout  # the path of a webhook is often its token


def test_a_webhook_error_is_exit_2_and_one_line(tmp_path):
    failing = WebhookReceiver(status=500)
    try:
        line = _one_line_error(cli(tmp_path, {"TESSDB_ALARMS__WEBHOOK_URL": failing.url}, "alarms", "test"))
    finally:
        failing.close()
    port = failing.server.server_address[1]
    assert line == f"tessdb-core: error: webhook http://127.0.0.1:{port}: HTTP 500 Internal Server Error"


def test_both_channels_and_one_failing(tmp_path, smtp):
    port = free_port()  # nobody listens: the e-mail still goes, the error is the one line
    env = mail_env(smtp, WEBHOOK_URL=f"http://127.0.0.1:{port}/x")
    out = cli(tmp_path, env, "alarms", "test")
    assert _one_line_error(out) == f"tessdb-core: error: webhook http://127.0.0.1:{port}: Connection refused"
    assert "sent by email" in out.stdout and len(smtp.messages) == 1


def test_with_nowhere_to_send_alarms_test_says_so(tmp_path):
    line = _one_line_error(cli(tmp_path, {}, "alarms", "test"))
    assert "no receivers and no webhook_url" in line


def test_bad_settings_name_the_key(tmp_path, smtp):
    line = _one_line_error(cli(tmp_path, mail_env(smtp, STALLED_AFTER="twenty minutes"), "alarms", "test"))
    assert "setting alarms.stalled_after = 'twenty minutes' is not valid: expected a duration" in line
    line = _one_line_error(cli(tmp_path, {"TESSDB_ALARMS__RECEIVERS": '["ops@example.org"]'}, "alarms", "test"))
    assert "alarms.smtp_host" in line and "alarms.sender" in line
