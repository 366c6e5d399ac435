"""Bad input for every command family: one line on stderr, exit 2, the database unchanged
(tess_t, name_to_mac_t, location_t and observer_t compared before and after)."""

from __future__ import annotations

import pytest

CASES = [
    # unknown photometer
    (("instrument", "show", "stars99"), "unknown photometer 'stars99'"),
    (("instrument", "history", "stars99"), "unknown photometer 'stars99'"),
    (("instrument", "update", "stars99", "--zp", "20"), "unknown photometer 'stars99'"),
    (("instrument", "enable", "stars99"), "unknown photometer 'stars99'"),
    (("instrument", "disable", "stars99"), "unknown photometer 'stars99'"),
    (("instrument", "assign", "stars99", "--location", "-1"), "unknown photometer 'stars99'"),
    (("instrument", "rename", "stars99", "stars98"), "unknown photometer 'stars99'"),
    (("readings", "list", "stars99"), "unknown photometer 'stars99'"),
    (("readings", "count", "stars99"), "unknown photometer 'stars99'"),
    # unknown site / observer
    (("instrument", "assign", "stars10", "--location", "Atlantis"), "unknown location 'Atlantis'"),
    (("instrument", "assign", "stars10", "--location", "77"), "unknown location 77"),
    (("instrument", "create", "stars40", "AA:00:00:00:00:40", "--zp", "20", "--location", "Atlantis"),
     "unknown location 'Atlantis'"),
    (("location", "show", "Atlantis"), "unknown location 'Atlantis'"),
    (("location", "update", "Atlantis", "--town", "X"), "unknown location 'Atlantis'"),
    (("instrument", "assign", "stars10", "--observer", "Nobody"), "unknown observer 'Nobody'"),
    (("observer", "update", "Nobody", "--acronym", "N"), "unknown observer 'Nobody'"),
    # a MAC in the wrong format
    (("instrument", "create", "stars40", "AA:BB:CC:DD:EE", "--zp", "20"), "is not in the format AA:BB:CC:DD:EE:FF"),
    (("instrument", "create", "stars40", "AA:BB:CC:DD:EE:XY", "--zp", "20"), "is not in the format"),
    (("instrument", "create", "stars40", "AABBCCDDEEFF", "--zp", "20"), "is not in the format"),
    (("instrument", "show", "--mac", "AA-BB-CC-DD-EE-FF"), "is not in the format"),
    # a name not matching rules.name_pattern
    (("instrument", "create", "tess40", "AA:00:00:00:00:40", "--zp", "20"), "rules.name_pattern"),
    (("instrument", "rename", "stars10", "stars-10"), "rules.name_pattern"),
    # a bad duration
    (("instrument", "silent", "--since", "3x"), "duration '3x' is not valid"),
    (("instrument", "silent", "--since", "h"), "duration 'h' is not valid"),
    (("instrument", "silent", "--since", "0d"), "duration '0d' is not valid"),
    # a --since earlier than the current version / mapping, or in the future
    (("instrument", "update", "stars10", "--zp", "20.9", "--since", "2020-01-01"), "is not later than the valid_since"),
    (("instrument", "assign", "stars10", "--location", "Villaverde", "--since", "2020-01-01"),
     "is not later than the valid_since"),
    (("instrument", "rename", "stars10", "stars11", "--since", "2020-01-01"), "is not later than the valid_since"),
    (("instrument", "update", "stars10", "--zp", "20.9", "--since", "2999-01-01"), "is in the future"),
    (("instrument", "update", "stars10", "--zp", "20.9", "--since", "soon"), "is not a date or time"),
    (("instrument", "update", "stars10", "--zp", "20.9", "--since", "2026-01-01", "--latest"), "exclude each other"),
    # other rules
    (("instrument", "update", "stars10"), "nothing to update"),
    (("instrument", "update", "stars10", "--offset", "2"), "offset 2.0 Hz is outside"),
    (("instrument", "update", "stars20", "--zp", "20", "--channel", "5"), "--channel 5 does not exist"),
    (("instrument", "create", "stars20", "AA:00:00:00:00:40", "--zp", "20"), "name stars20 is already in use"),
    (("instrument", "assign", "stars10"), "nothing to assign"),
    (("observer", "create", "X", "--type", "Individual", "--acronym", "A" * 17), "longer than 16"),
    (("observer", "update", "Unknown", "--acronym", "U"), "is not edited"),
    (("instrument", "show"), "give a NAME or --mac MAC"),
    (("instrument", "list", "--json", "--csv"), "exclude each other"),
]


@pytest.fixture
def populated(cli):
    cli("location", "create", "Villaverde", "--lon", "-3.7", "--lat", "40.35")
    cli("observer", "create", "Someone", "--type", "Individual")
    return cli


def test_every_family_of_bad_input_is_refused_and_changes_nothing(populated):
    problems = []
    for args, expected in CASES:
        try:
            message = populated.refused(*args)
        except AssertionError as exc:
            problems.append(f"{' '.join(args)}: {exc}")
            continue
        if expected not in message:
            problems.append(f"{' '.join(args)}: {message!r} lacks {expected!r}")
    assert problems == []
