"""The ``[sky]`` settings, declared once, and the typed view
(:class:`~tessdb_sky.clouds.CloudSettings`) that the cloud screening reads.

Durations are written as ``15m``, ``45m`` (the engine's duration parser).  Every key is
documented in the plugin's README.md and in docs/reports.md.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import Setting, SettingsSection, is_int, is_number, one_of, parse_duration

SECTION = "sky"

METHODS = ("variability", "infrared")
VARIABILITY = ("sad", "chi2")

def _seconds(v: Any) -> float:
    return parse_duration(v).total_seconds() if isinstance(v, str) else float("nan")


def _duration(lo: float, hi: float):
    def check(v: Any) -> bool:
        try:
            return lo <= _seconds(v) <= hi
        except Exception:
            return False
    return check


#: ``[sky]``: every key, declared once.  None is reloadable (the commands read them).
SKY_SECTION = SettingsSection(SECTION, "The Sun, the Moon and the cloud screening added to exports, plots and night "
                              "summaries (plugin sky); computed, never stored (docs/reports.md gives each source).", (
    Setting("cloud_methods", ["variability", "infrared"], 'Methods used to tell clear from cloudy: "variability" '
            '(the brightness) and/or "infrared".', f"a list of methods among {', '.join(METHODS)}",
            lambda v: isinstance(v, (list, tuple)) and all(m in METHODS for m in v)),
    Setting("variability", "sad", 'Variability measure: "sad" (sum of absolute differences of the last readings, '
            'Unihedron) or "chi2" (reduced chi-squared of a straight line over a centred window).',
            " or ".join(VARIABILITY), one_of(*VARIABILITY)),
    Setting("sad_readings", 10, "sad: readings in the window.", "an integer from 3 to 120", is_int(3, 120),
            unit="readings"),
    Setting("sad_max_span", "15m", "sad: the longest span the window's readings may cover.",
            "a duration such as 15m, from 1m to 6h", _duration(60, 6 * 3600), unit="duration"),
    Setting("sad_cloudy_above", 1.0, "sad: the cloudy limit.", "a number of magnitudes, above 0",
            is_number(1e-9, 100), unit="mag"),
    Setting("chi2_half_window", "45m", "chi2: half width of the window.", "a duration such as 45m, from 1m to 6h",
            _duration(60, 6 * 3600), unit="duration"),
    Setting("chi2_min_readings", 5, "chi2: fewest readings in the window.", "an integer from 3 to 1000",
            is_int(3, 1000), unit="readings"),
    Setting("chi2_sigma", 0.05, "chi2: scatter of one reading.", "a number of magnitudes, above 0",
            is_number(1e-9, 10), unit="mag"),
    Setting("chi2_cloudy_above", 3.0, "chi2: the cloudy limit.", "a number above 0", is_number(1e-9, 1e9)),
    Setting("ir_clear_below", -8.0, "Infrared: sky minus ambient temperature below which the sky is clear.",
            "a temperature difference in °C, from -100 to 50", is_number(-100, 50), unit="degC"),
    Setting("ir_cloudy_above", -1.0, "Infrared: sky minus ambient temperature above which the sky is cloudy.",
            "a temperature difference in °C, from -100 to 50, not below ir_clear_below", is_number(-100, 50),
            unit="degC"),
    Setting("screen_sun_below", -18.0, "No verdict while the Sun is above this altitude (-18: day and every "
            "twilight).", "a Sun altitude in degrees, from -90 to 0", is_number(-90, 0), unit="degrees"),
    Setting("tess4c_channel", 1, "The TESS4C channel whose brightness is screened.", "a channel number from 1 to 4",
            is_int(1, 4)),
))

#: the defaults, by key
DEFAULTS: dict[str, Any] = SKY_SECTION.defaults()


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
