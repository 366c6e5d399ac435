"""Delivery: e-mail with :mod:`smtplib` (STARTTLS or implicit TLS on port 465, login) and a JSON webhook with
:mod:`urllib`.  Every failure is a :class:`DeliveryError` of one line naming the server
(``SMTP mail.example.org:587: 535 5.7.8 Authentication credentials invalid``), with the
SMTP password blanked out of it; the webhook is named by its scheme and host only, since
its path often is a token."""

from __future__ import annotations

import http.client
import ipaddress
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from tessdb_core import BadValue, __version__

from .config import SEND_TIMEOUT, AlarmSettings, Smtp
from .state import Notification


class DeliveryError(OSError):
    """A notification could not be delivered: one line, naming the server.  An ``OSError``,
    so that the ``tessdb-core`` command prints it as a user's error (exit 2)."""


def deliver(cfg: AlarmSettings, channel: str, note: Notification) -> str:
    """Deliver ``note`` on one channel (``email`` or ``webhook``); return where it went."""
    if channel == "email" and cfg.smtp is not None:
        send_email(cfg.smtp, note)
        return f"{cfg.smtp.where} for {', '.join(cfg.smtp.receivers)}"
    if channel == "webhook" and cfg.webhook_url:
        post_webhook(cfg.webhook_url, note, cfg.ca_file)
        return webhook_where(cfg.webhook_url)
    raise BadValue(f"no alarm channel {channel!r} in the settings")


# -- e-mail -----------------------------------------------------------------------------------
def email_message(smtp: Smtp, note: Notification) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = note.subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.receivers)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid("tessdb-alarm")
    msg["X-Mailer"] = f"tessdb-core {__version__}"
    msg.set_content(note.body)
    return msg


def send_email(smtp: Smtp, note: Notification, timeout: float = SEND_TIMEOUT) -> None:
    if smtp.user and not (smtp.starttls or smtp.implicit_tls) and not _loopback(smtp.host):
        raise DeliveryError(f"{smtp.where}: refusing to send the password of alarms.smtp_user unencrypted; "
                            "set alarms.smtp_starttls = true (or alarms.smtp_implicit_tls = true for port 465)")
    try:
        if smtp.implicit_tls:  # SMTPS: TLS from the first byte, then no STARTTLS
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                      context=ssl.create_default_context(cafile=smtp.ca_file or None))
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            client.ehlo()
            if smtp.starttls and not smtp.implicit_tls:
                client.starttls(context=ssl.create_default_context(cafile=smtp.ca_file or None))
                client.ehlo()
            if smtp.user:
                client.login(smtp.user, smtp.password)
            # receivers refused one by one are not retried: the others have it already
            client.send_message(email_message(smtp, note), from_addr=smtp.sender, to_addrs=list(smtp.receivers))
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(_scrub(f"{smtp.where}: {describe(exc)}", smtp.password)) from None


def describe(exc: BaseException) -> str:
    """One line for an SMTP, TLS or network failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "every receiver refused: " + ", ".join(f"{r} ({code} {_text(msg)})"
                                                      for r, (code, msg) in exc.recipients.items())
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        text = f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"sender {exc.sender} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    elif isinstance(exc, TimeoutError):
        text = "no answer in time"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "********") if secret else text


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- webhook ----------------------------------------------------------------------------------
def webhook_where(url: str) -> str:
    """``webhook https://hooks.example.org``: the path is left out (it often is a token)."""
    parts = urllib.parse.urlsplit(url)
    return f"webhook {parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def post_webhook(url: str, note: Notification, ca_file: str = "", timeout: float = SEND_TIMEOUT) -> None:
    """POST the note's JSON body; a status other than 2xx is a failure."""
    request = urllib.request.Request(url, data=json.dumps(note.data).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": f"tessdb-core/{__version__}"})
    context = ssl.create_default_context(cafile=ca_file or None) if url.startswith("https:") else None
    where = webhook_where(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read(65_536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{where}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise DeliveryError(f"{where}: {describe(reason) if isinstance(reason, BaseException) else reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{where}: {describe(exc)}") from None
