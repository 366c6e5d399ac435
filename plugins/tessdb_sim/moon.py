"""The Moon over a simulated site, from the sky library's ephemerides (``tessdb_sky``):
the simulator has no ephemeris of its own.  Imported only when the weather has a Moon."""

from __future__ import annotations

from .sky import J2000


def moon_on_grid(longitude: float, latitude: float, first_day: float, n: int, step_days: float
                 ) -> tuple[list[float], list[float]]:
    """(altitudes in degrees, lit fractions) at ``first_day + i * step_days`` days after J2000,
    for i in 0 .. n-1."""
    import numpy as np
    from tessdb_sky.api import bodies

    start = np.datetime64(J2000, "ns") + np.timedelta64(int(round(first_day * 86400)), "s")
    times = start + (np.arange(n) * step_days * 86400 * 1e9).astype("timedelta64[ns]")
    b = bodies(times, longitude, latitude)
    return [float(v) for v in b.moon_alt], [float(v) for v in b.moon_illumination]
