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

from tessdb_core.settings import is_bool, is_int, is_str, is_str_list, rule
from tessdb_core.durations import parse_duration
from tessdb_core.errors import BadValue

SECTION = "alarms"

#: ``[alarms]``: every key and its default (documented in the plugin's README).  None of
#: them is reloadable: the monitor reads them when the service starts.
DEFAULTS: dict[str, Any] = {
    "check_every": "1m",
    "stalled_after": "20m",
    "photometer_silent_after": "2h",
    "state_path": "tessdb-alarms.db",
    "smtp_host": "",
    "smtp_port": 587,
    "smtp_starttls": True,
    "smtp_implicit_tls": False,
    "smtp_user": "",
    "smtp_password": "",  # a secret (its name ends in _password): .secrets.toml or TESSDB_ALARMS__SMTP_PASSWORD
    "sender": "",
    "receivers": [],
    "ca_file": "",
    "webhook_url": "",
}

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


def validators() -> list[Validator]:
    key = f"{SECTION}."
    duration = "a duration such as 90s, 20m or 2h"
    receivers_set = Validator(f"{key}receivers", condition=lambda v: bool(v))
    when_mailing = []
    for name, expected in (("smtp_host", "a host name or address, since alarms.receivers is set"),
                           ("sender", "an e-mail address, since alarms.receivers is set")):
        check = (lambda v: isinstance(v, str) and v != "") if name == "smtp_host" else _address
        v = rule(f"{key}{name}", expected, check)
        v.when = receivers_set  # only checked when e-mail is wanted
        when_mailing.append(v)
    return [
        rule(f"{key}check_every", f"{duration}, from 1s to 1d", _duration(1.0, _LONGEST_CHECK)),
        rule(f"{key}stalled_after", f"{duration}, 1s or more", _duration(1.0)),
        rule(f"{key}photometer_silent_after", f"{duration}, 1s or more", _duration(1.0)),
        rule(f"{key}state_path", "a file path", lambda v: isinstance(v, str) and v != ""),
        rule(f"{key}smtp_host", "a host name or address, or empty", is_str),
        rule(f"{key}smtp_port", "an integer port 1..65535", is_int(1, 65535)),
        rule(f"{key}smtp_starttls", "true or false", is_bool),
        rule(f"{key}smtp_implicit_tls", "true or false", is_bool),
        rule(f"{key}smtp_user", "a user name, or empty for no login", is_str),
        rule(f"{key}smtp_password", "a string", is_str),
        rule(f"{key}sender", "an e-mail address, or empty", lambda v: v == "" or _address(v)),
        rule(f"{key}receivers", "a list of e-mail addresses", lambda v: is_str_list(v) and all(map(_address, v))),
        rule(f"{key}ca_file", "an existing CA certificate file (PEM), or empty for the system CAs",
             lambda v: v == "" or Path(v).is_file()),
        rule(f"{key}webhook_url", "an http:// or https:// URL, or empty",
             lambda v: v == "" or (isinstance(v, str) and v.startswith(("http://", "https://")) and " " not in v)),
        *when_mailing,
    ]


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
