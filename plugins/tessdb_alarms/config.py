"""The ``[alarms]`` settings: their defaults, their validators, and the typed view the
monitor and the commands read.

Durations are written as ``90s``, ``20m``, ``2h`` (or a sum such as ``1h30m``); they are
parsed by the maintenance rules' parser, so every duration of the tools reads alike.  A
bad one is refused at start by its validator, naming the key.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynaconf import Validator

from tessdb_core import (BadValue, Setting, SettingsSection, is_bool, is_int, is_str, is_str_list, is_text,
                        parse_duration, rule)

SECTION = "alarms"

#: how long one SMTP conversation or one webhook request may take
SEND_TIMEOUT = 15.0
#: the longest check interval (a day): an alarm checked less often than that is no alarm
_LONGEST_CHECK = 86_400.0


def seconds(text: Any) -> float:
    """A duration setting (``"90s"``, ``"20m"``, ``"2h"``) in seconds; ValueError otherwise."""
    if not isinstance(text, str):
        raise BadValue(f"{text!r} is not a duration")
    return parse_duration(text).total_seconds()


def _duration(lo: float, hi: float | None = None):
    return lambda v: lo <= seconds(v) and (hi is None or seconds(v) <= hi)


def _address(v: Any) -> bool:
    return isinstance(v, str) and "@" in v.strip("@") and not any(c.isspace() for c in v)


def _when_mailing() -> tuple[Validator, ...]:
    """smtp_host and sender are required once receivers is set (a rule across keys)."""
    receivers_set = Validator(f"{SECTION}.receivers", condition=lambda v: bool(v))
    out = []
    for name, expected, check in (("smtp_host", "a host name or address, since alarms.receivers is set", is_text),
                                  ("sender", "an e-mail address, since alarms.receivers is set", _address)):
        v = rule(f"{SECTION}.{name}", expected, check)
        v.when = receivers_set  # only checked when e-mail is wanted
        out.append(v)
    return tuple(out)


_DURATION = "a duration such as 90s, 20m or 2h"

#: ``[alarms]``: every key, declared once.  Only the SMTP password is reloadable (the
#: ``tessdb_settings_reloaded`` hook); the monitor reads the rest when the service starts.
ALARMS_SECTION = SettingsSection(SECTION, "E-mail and webhook alarms on the running service (plugin alarms).", (
    Setting("check_every", "1m", "How often the service is checked.", f"{_DURATION}, from 1s to 1d",
            _duration(1.0, _LONGEST_CHECK), unit="duration"),
    Setting("stalled_after", "20m", "Alarm when no reading was stored for this long.", f"{_DURATION}, 1s or more",
            _duration(1.0), unit="duration"),
    Setting("photometer_silent_after", "2h", "Alarm when a photometer that was sending stored nothing for this "
            "long.", f"{_DURATION}, 1s or more", _duration(1.0), unit="duration"),
    Setting("state_path", "tessdb-alarms.db", "The plugin's own SQLite file: alarms and undelivered notifications "
            "(not the inbox file).", "a file path", is_text),
    Setting("smtp_host", "", "SMTP server; e-mail is sent when receivers is not empty (smtp_host and sender are "
            "then required).", "a host name or address, or empty", is_str),
    Setting("smtp_port", 587, "SMTP port.", "an integer port 1..65535", is_int(1, 65535), unit="port number"),
    Setting("smtp_starttls", True, "Use STARTTLS.", "true or false", is_bool),
    Setting("smtp_implicit_tls", False, "TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS; "
            "smtp_starttls is then unused.", "true or false", is_bool),
    Setting("smtp_user", "", "Login user; empty for no login. A login is refused without STARTTLS, except to a "
            "loopback host.", "a user name, or empty for no login", is_str),
    Setting("smtp_password", "", "SMTP password: put it in .secrets.toml or TESSDB_ALARMS__SMTP_PASSWORD; never "
            "shown, never logged. A reload applies it to the next e-mail.", "a string", is_str, secret=True,
            reloadable=True),
    Setting("sender", "", "The From address of the e-mails.", "an e-mail address, or empty",
            lambda v: v == "" or _address(v)),
    Setting("receivers", [], "Who gets the e-mails.", "a list of e-mail addresses",
            lambda v: is_str_list(v) and all(map(_address, v))),
    Setting("ca_file", "", "CA certificate (PEM) that verifies the SMTP server (and an https webhook); empty: the "
            "system CAs.", "an existing CA certificate file (PEM), or empty for the system CAs",
            lambda v: v == "" or Path(v).is_file()),
    Setting("webhook_url", "", "A URL that receives a JSON POST per notification; empty for none.",
            "an http:// or https:// URL, or empty",
            lambda v: v == "" or (isinstance(v, str) and v.startswith(("http://", "https://")) and " " not in v)),
), validators=_when_mailing())

#: the defaults, by key
DEFAULTS: dict[str, Any] = ALARMS_SECTION.defaults()


@dataclass(frozen=True)
class Smtp:
    """Where and how the e-mails go."""

    host: str
    port: int
    starttls: bool
    user: str
    password: str = field(repr=False)
    sender: str
    receivers: tuple[str, ...]
    ca_file: str
    #: TLS from the first byte (SMTPS, port 465) instead of STARTTLS
    implicit_tls: bool = False

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"


@dataclass(frozen=True)
class AlarmSettings:
    """``[alarms]`` as the monitor uses it: durations in seconds, the channels in force."""

    check_every: float
    stalled_after: float
    silent_after: float
    state_path: Path
    smtp: Smtp | None  # None: no receivers, no e-mail
    webhook_url: str
    ca_file: str
    host: str  # this machine, named in every message

    @classmethod
    def from_settings(cls, settings: Any) -> "AlarmSettings":
        a = settings.get(SECTION) or {}
        get = lambda k: a.get(k, DEFAULTS[k])  # noqa: E731  (defaults for a snapshot built without the plugin)
        receivers = tuple(get("receivers"))
        smtp = None
        if receivers:
            smtp = Smtp(get("smtp_host"), int(get("smtp_port")), bool(get("smtp_starttls")), get("smtp_user"),
                        get("smtp_password"), get("sender"), receivers, get("ca_file"),
                        bool(get("smtp_implicit_tls")))
        return cls(seconds(get("check_every")), seconds(get("stalled_after")), seconds(get("photometer_silent_after")),
                   Path(get("state_path")), smtp, get("webhook_url"), get("ca_file"), socket.gethostname())

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels in force: ``email`` and / or ``webhook``."""
        return (("email",) if self.smtp else ()) + (("webhook",) if self.webhook_url else ())

    @property
    def enabled(self) -> bool:
        return bool(self.channels)
