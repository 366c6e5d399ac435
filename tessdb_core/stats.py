"""The counters of every outcome, named as the reference's ``/v1/stats`` (docs/operations.md).

Groups ``mqtt``, ``dbase_register`` and ``dbase_readings`` keep the 5.x names so
that existing alarm scripts read them unchanged; ``quarantined`` counts each
reason, ``filter`` what each filter dropped and ``stored`` what was committed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

MQTT = ("num_published", "num_readings", "num_register", "num_filtered")
REGISTER = ("num_registered", "num_zp_changed", "num_created", "num_renamed", "num_replaced",
            "num_rebooted", "num_extinct")
READINGS = ("num_readings", "rej_not_registered", "rej_hash_mismatch", "rej_not_authorised", "rej_duplicated")

#: which dbase_readings counter a resolution rejection bumps
REJECTION_COUNTER = {"unknown_photometer": "rej_not_registered", "hash_mismatch": "rej_hash_mismatch",
                     "not_authorised": "rej_not_authorised"}


class Stats:
    """Plain integer counters; the pipeline bumps attributes directly on the hot path."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.mqtt = dict.fromkeys(MQTT, 0)
        self.register = dict.fromkeys(REGISTER, 0)
        self.readings = dict.fromkeys(READINGS, 0)
        self.stored = 0
        self.quarantined: Counter[str] = Counter()
        self.discarded: Counter[str] = Counter()
        self.filtered: Counter[str] = Counter()
        #: quarantine entries dropped to keep it within [quarantine] max_mb / keep_days
        self.quarantine_dropped = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mqtt": dict(self.mqtt),
            "dbase_register": dict(self.register),
            "dbase_readings": dict(self.readings),
            "stored": self.stored,
            "quarantined": dict(sorted(self.quarantined.items())),
            "discarded": dict(sorted(self.discarded.items())),
            "filter": {"dropped": dict(sorted(self.filtered.items()))},
            "quarantine": {"dropped": self.quarantine_dropped},
        }

    def log_lines(self) -> list[str]:
        """The periodic summary lines of tessdb-server 5.x, same counter order."""
        m, g, r = self.mqtt, self.register, self.readings
        return [
            "MQTT Stats [Total, Reads, Register, Discarded] = [{}, {}, {}, {}]".format(*(m[k] for k in MQTT)),
            "DBASE Register Stats [Register, Created, Renamed, Replaced, Extinct, Rebooted, ZP-Changed] = "
            "[{}, {}, {}, {}, {}, {}, {}]".format(g["num_registered"], g["num_created"], g["num_renamed"],
                                                  g["num_replaced"], g["num_extinct"], g["num_rebooted"],
                                                  g["num_zp_changed"]),
            "DBASE Readings Stats [Readings, NotRegistered, HashMismatch, NotAuthorised, Duplicated] = "
            "[{}, {}, {}, {}, {}]".format(*(r[k] for k in READINGS)),
        ]
