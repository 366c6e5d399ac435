"""The ``[sky]`` settings: their defaults, their validators and the typed view
(:class:`~tessdb_sky.clouds.CloudSettings`) that the cloud screening reads.

Durations are written as ``15m``, ``45m`` (the engine's duration parser).  Every key is
documented in the plugin's README.md and in docs/reports.md.
"""

from __future__ import annotations

from typing import Any

from tessdb_core.durations import parse_duration
from tessdb_core.settings import is_int, is_number, one_of, rule

SECTION = "sky"

METHODS = ("variability", "infrared")
VARIABILITY = ("sad", "chi2")

#: ``[sky]``: every key and its default.  None is reloadable (the commands read them).
DEFAULTS: dict[str, Any] = {
    "cloud_methods": ["variability", "infrared"],
    "variability": "sad",
    "sad_readings": 10,
    "sad_max_span": "15m",
    "sad_cloudy_above": 1.0,
    "chi2_half_window": "45m",
    "chi2_min_readings": 5,
    "chi2_sigma": 0.05,
    "chi2_cloudy_above": 3.0,
    "ir_clear_below": -8.0,
    "ir_cloudy_above": -1.0,
    "screen_sun_below": -18.0,
    "tess4c_channel": 1,
}


def _seconds(v: Any) -> float:
    return parse_duration(v).total_seconds() if isinstance(v, str) else float("nan")


def _duration(lo: float, hi: float):
    def check(v: Any) -> bool:
        try:
            return lo <= _seconds(v) <= hi
        except Exception:
            return False
    return check


def validators() -> list[Any]:
    k = f"{SECTION}."
    return [
        rule(f"{k}cloud_methods", f"a list of methods among {', '.join(METHODS)}",
             lambda v: isinstance(v, (list, tuple)) and all(m in METHODS for m in v)),
        rule(f"{k}variability", " or ".join(VARIABILITY), one_of(*VARIABILITY)),
        rule(f"{k}sad_readings", "an integer from 3 to 120", is_int(3, 120)),
        rule(f"{k}sad_max_span", "a duration such as 15m, from 1m to 6h", _duration(60, 6 * 3600)),
        rule(f"{k}sad_cloudy_above", "a number of magnitudes, above 0", is_number(1e-9, 100)),
        rule(f"{k}chi2_half_window", "a duration such as 45m, from 1m to 6h", _duration(60, 6 * 3600)),
        rule(f"{k}chi2_min_readings", "an integer from 3 to 1000", is_int(3, 1000)),
        rule(f"{k}chi2_sigma", "a number of magnitudes, above 0", is_number(1e-9, 10)),
        rule(f"{k}chi2_cloudy_above", "a number above 0", is_number(1e-9, 1e9)),
        rule(f"{k}ir_clear_below", "a temperature difference in °C, from -100 to 50", is_number(-100, 50)),
        rule(f"{k}ir_cloudy_above", "a temperature difference in °C, from -100 to 50, not below ir_clear_below",
             is_number(-100, 50)),
        rule(f"{k}screen_sun_below", "a Sun altitude in degrees, from -90 to 0", is_number(-90, 0)),
        rule(f"{k}tess4c_channel", "a channel number from 1 to 4", is_int(1, 4)),
    ]


def cloud_settings(settings: Any = None):
    """The typed view of ``[sky]`` (the defaults when ``settings`` is None or has no section)."""
    from .clouds import CloudSettings

    sky = dict(DEFAULTS)
    if settings is not None:
        section = settings.get(SECTION) if hasattr(settings, "get") else None
        if section:
            sky.update({key: section[key] for key in DEFAULTS if key in section})
    return CloudSettings(
        methods=tuple(sky["cloud_methods"]), variability=sky["variability"],
        sad_readings=int(sky["sad_readings"]), sad_max_span_s=_seconds(sky["sad_max_span"]),
        sad_cloudy_above=float(sky["sad_cloudy_above"]),
        chi2_half_window_s=_seconds(sky["chi2_half_window"]), chi2_min_readings=int(sky["chi2_min_readings"]),
        chi2_sigma=float(sky["chi2_sigma"]), chi2_cloudy_above=float(sky["chi2_cloudy_above"]),
        ir_clear_below=float(sky["ir_clear_below"]), ir_cloudy_above=float(sky["ir_cloudy_above"]),
        sun_below=float(sky["screen_sun_below"]), tess4c_channel=int(sky["tess4c_channel"]),
    )
