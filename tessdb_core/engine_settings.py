"""The engine's settings, each key declared once (see :mod:`tessdb_core.schema`).

Plugins declare theirs through the ``tessdb_settings_schema`` hook; a plugin may add keys to one
of these sections (the TESS plugin adds its white and black lists to ``[mqtt]``), never declare
one of these keys again.  docs/settings.md and settings/settings.toml are generated from here
(``python -m tessdb_core.settings_reference --write``).
"""

from __future__ import annotations

from .schema import (LOG_LEVEL_NAMES, Setting, SettingsSection, is_bool, is_int, is_level, is_level_table,
                     is_number, is_str, is_str_list, is_table_of, is_text, one_of)

_PORT = "an integer port 1..65535"
_SECRET_FILE = "put it in .secrets.toml or a TESSDB_ variable, never in the settings file; it is never shown"

MQTT = SettingsSection("mqtt", "The broker the collector subscribes to (MQTT 5 persistent session, QoS 1).", (
    Setting("host", "127.0.0.1", "Broker host name or address.", "a host name or address", is_text),
    Setting("port", 1883, "Broker TCP port.", _PORT, is_int(1, 65535), unit="port number"),
    Setting("client_id", "tessdb-core", "Fixed MQTT client id (the broker keeps the persistent session under it).",
            "a string", is_str),
    Setting("username", "", "Broker user name; empty for an anonymous connection. A reload reconnects with it.",
            "a string", is_str, reloadable=True),
    Setting("password", "", f"Broker password: {_SECRET_FILE}. A reload reconnects with it (a refused login keeps "
            "the inbox safe and says so).", "a string", is_str, secret=True, reloadable=True),
    Setting("keepalive", 60, "MQTT keep-alive interval.", "an integer number of seconds 5..3600", is_int(5, 3600),
            unit="seconds"),
    Setting("tess_topic_register", "STARS4ALL/register", "Topic of registration messages; empty disables "
            "registrations.", "a topic string (empty disables registrations)", is_str, reloadable=True),
    Setting("tess_topics", ["STARS4ALL/+/reading"], "Topic filters of reading messages.", "a list of topic filters",
            is_str_list, reloadable=True),
    Setting("tess_whitelist", [], "When not empty, only these photometer names (as received) are accepted; others "
            "are discarded and counted as num_filtered.", "a list of photometer names", is_str_list, reloadable=True),
    Setting("tess_blacklist", [], "Photometer names (as received) that are discarded and counted as num_filtered.",
            "a list of photometer names", is_str_list, reloadable=True),
    Setting("protocol", "5", 'MQTT protocol version: "5" or "3.1.1".', '"5" or "3.1.1"',
            lambda v: str(v) in ("5", "3.1.1")),
    Setting("qos", 1, "QoS of the subscriptions (1: at least once; the inbox makes it exactly-once in the "
            "database).", "0, 1 or 2", one_of(0, 1, 2)),
    Setting("session_expiry", 604800, "How long the broker keeps the collector's session (and queues its "
            "messages) while it is away (MQTT 5).", "an integer number of seconds 0..4294967295",
            is_int(0, 4_294_967_295), unit="seconds"),
    Setting("receive_maximum", 1000, "How many unacknowledged messages the broker may send at once (MQTT 5 "
            "Receive Maximum).", "an integer number of messages 1..65535", is_int(1, 65_535), unit="messages"),
    Setting("reconnect_min", 1, "First delay before reconnecting; doubled after each failure.",
            "a number of seconds 0.1..3600", is_number(0.1, 3600), unit="seconds"),
    Setting("reconnect_max", 120, "Longest delay between reconnection attempts.", "a number of seconds 1..86400",
            is_number(1, 86_400), unit="seconds"),
    Setting("silent_after", 300, "When connected and no message arrived for this long, /health stays 200 "
            "(ready: a quiet sky is not a fault) and its reason becomes `ok; no message for N s` (a subscription "
            "the broker's ACL silently denies shows this way).", "a number of seconds 1..86400",
            is_number(1, 86_400),
            unit="seconds", reloadable=True),
    Setting("shared_group", "", "When not empty, reading topics are subscribed as $share/<group>/... (MQTT 5 "
            "shared subscription, several collectors sharing the load).", "a group name without '/', or empty",
            lambda v: isinstance(v, str) and "/" not in v),
    Setting("max_payload", 65536, "Largest payload kept whole. A bigger message is acknowledged and quarantined "
            "as `too_large` with only its first 1 KiB kept, so a sender cannot fill the disk or the memory with "
            "one message (also set mosquitto's `message_size_limit`).",
            "an integer number of bytes 1024..268435455", is_int(1024, 268_435_455), unit="bytes", reloadable=True),
    Setting("speedups", "auto", "paho-mqtt speed-ups (shared MQTT 5 property tables, a lean QoS 0/1 PUBLISH "
            "handler, and on a plain socket batched PUBACK writes and buffered reads: paho's receive path costs ~8 "
            "instead of ~50-70 µs a message): \"auto\" uses them on the exact paho-mqtt versions they were tested "
            "on (2.2.0), \"off\" never (paho's own paths, should a paho update misbehave).", '"auto" or "off"',
            one_of("auto", "off")),
    Setting("tls.enabled", False, "Connect with TLS.", "true or false", is_bool),
    Setting("tls.ca", "", "CA certificate file (PEM) to verify the broker; empty for the system CAs.",
            "a file path or empty", is_str),
    Setting("tls.certfile", "", "Client certificate file (PEM), for brokers that authenticate clients by "
            "certificate.", "a file path or empty", is_str),
    Setting("tls.keyfile", "", "Client private key file (PEM).", "a file path or empty", is_str),
))

DBASE = SettingsSection("dbase", "The star-schema database.", (
    Setting("url", "tess.db", "The star-schema database: a SQLite file path (or sqlite:///path), or a database "
            "URL a store plugin speaks (postgresql://...).", "a SQLite file path or a database URL", is_text,
            production="/var/dbase/tess.db"),
    Setting("auth_filter", False, "Refuse readings of instruments whose `authorised` flag is 0.", "true or false",
            is_bool, reloadable=True),
    Setting("buffer_size", 1000, "Readings written per transaction by the live service.",
            "an integer number of readings 1..100000", is_int(1, 100_000), unit="readings", reloadable=True),
    Setting("ingest_buffer_size", 20000, "Readings written per transaction by the offline ingest and the "
            "quarantine replay (larger batches touch each instrument's index page once per batch).",
            "an integer number of readings 1..1000000", is_int(1, 1_000_000), unit="readings"),
))

INBOX = SettingsSection("inbox", "The durable inbox: what was acknowledged to the broker and not yet stored.", (
    Setting("path", "tessdb-inbox.db", "The local inbox and quarantine file (SQLite WAL, separate from the star "
            "schema).", "a file path", is_text, production="/var/dbase/tessdb-inbox.db"),
    Setting("chunk", 2000, "Inbox entries handed to the pipeline at a time.",
            "an integer number of messages 1..100000", is_int(1, 100_000), unit="messages"),
    Setting("flush_interval", 0.1, "Longest time a processed reading waits in the write buffer before it is "
            "committed (the latency from arrival to the database).", "a number of seconds 0..60",
            is_number(0, 60), unit="seconds", reloadable=True),
))

QUARANTINE = SettingsSection("quarantine", "Messages refused for their content, kept with their reason.", (
    Setting("max_mb", 200, "Largest size of the kept quarantine (payloads and details); beyond it the oldest "
            "entries are dropped, counted as tessdb_quarantine_dropped_total.", "a number of MiB 1..1000000",
            is_number(1, 1_000_000), unit="MiB", reloadable=True),
    Setting("keep_days", 90, "Entries older than this are dropped (0 keeps them until max_mb).",
            "a number of days 0..36500 (0: no age limit)", is_number(0, 36_500), unit="days", reloadable=True),
))

HTTP = SettingsSection("http", "The admin HTTP API (loopback, token): health, metrics and the controls.", (
    Setting("host", "127.0.0.1", "Address of the admin HTTP API (keep it on loopback).", "a host name or address",
            is_text),
    Setting("port", 8080, "Port of the admin HTTP API.", _PORT, is_int(1, 65535), unit="port number"),
    Setting("enabled", True, "Serve the admin HTTP API (the `pause`, `resume`, ... commands use it).",
            "true or false", is_bool),
    Setting("token", "", f"Bearer token required by the admin API when not empty: {_SECRET_FILE}. After a reload "
            "the old token is refused and the new one accepted.", "a string", is_str, secret=True, reloadable=True),
    Setting("public_paths", ["/metrics", "/health/live", "/health/ready"], "Paths a GET may reach without the "
            "token when one is set (a Prometheus scraper, a load balancer's probe); they only read.",
            "a list of paths starting with /", lambda v: is_str_list(v) and all(p.startswith("/") for p in v)),
))

FILTER = SettingsSection("filter", "The reading filters, run in order on every reading.", (
    Setting("chain", ["decimation", "daylight"], "Order of the reading filter chain, by filter name.",
            "a list of filter names", is_str_list),
    Setting("depth", 7, "Look-ahead window of the daylight filter: odd, at least 3 (a reload applies it to "
            "photometers seen after it).", "an odd integer >= 3", lambda v: is_int(3)(v) and v % 2 == 1,
            unit="readings"),
    Setting("disabled_for", [], "Photometer names whose readings bypass the daylight filter.",
            "a list of photometer names", is_str_list, reloadable=True),
    Setting("max_photometers", 20000, "Most photometers with filter state (a look-ahead window, a decimation "
            "counter) at once; beyond it the longest-held window is released (its readings go on, nothing is "
            "lost). Only registered photometers get state, so this bounds memory against a flood of names.",
            "an integer number of photometers 1..10000000", is_int(1, 10_000_000), unit="photometers",
            reloadable=True),
    Setting("enable.daylight", True, "Turn the decimation and the daylight filter on or off for every "
            "photometer.", "true or false", is_bool, reloadable=True),
    Setting("divisor", {}, "Per-photometer decimation: name = N keeps the first reading, then one every N, "
            "e.g. stars1267 = 6.", "a table of photometer name = integer >= 1",
            is_table_of(lambda n: is_int(1)(n)), unit="readings", reloadable=True),
))

STATS = SettingsSection("stats", "The periodic statistics log line.", (
    Setting("interval", 3600, "Period of the statistics log lines; counters reset after each.",
            "an integer number of seconds 1..86400", is_int(1, 86_400), unit="seconds", reloadable=True),
))

PLUGINS = SettingsSection("plugins", "Which plugins load.", (
    Setting("disabled", [], 'Plugin (entry point) names that are not loaded, e.g. ["sqlite"] to replace the '
            "default store.", "a list of plugin names", is_str_list),
    Setting("required", [], "Plugin names that must load: start-up stops with a clear message if one fails.",
            "a list of plugin names", is_str_list),
))

_LEVELS = ", ".join(LOG_LEVEL_NAMES)
LOGS = SettingsSection("logs", "Console and file logs (loguru).", (
    Setting("level", "info", f"Minimum level of the console and file logs: {_LEVELS}.", f"one of {_LEVELS}",
            is_level, reloadable=True),
    Setting("console", True, "Log to standard error.", "true or false", is_bool),
    Setting("file", "", "Log file path; empty for no log file.", "a file path, or empty for no log file", is_str,
            production="/var/log/tessdb/tessdb.log"),
    Setting("rotation", "1 day", 'When the log file is rotated: a size ("10 MB") or a period ("1 day").',
            "a loguru rotation such as '10 MB' or '1 day'", is_str),
    Setting("retention", "30 days", 'How many rotated files are kept: a count ("30 files") or an age ("30 days").',
            "a loguru retention such as '30 days' or '10 files'", is_str),
    Setting("json", False, "Write the log file and the console (the journal under systemd) as JSON lines instead "
            "of text.", "true or false", is_bool),
    Setting("namespaces", {}, 'Level per namespace (engine parts, plugins and libraries routed from `logging`), '
            'e.g. mqtt = "debug", paho = "warning".', "a table of namespace = level", is_level_table,
            reloadable=True),
    Setting("photometers", {}, 'Level of the per-photometer traces (docs/operations.md, Logs), by photometer '
            'name, e.g. stars1 = "debug".', "a table of photometer name = level", is_level_table, reloadable=True),
))

#: the engine's sections, in the order the reference shows them
ENGINE_SECTIONS: tuple[SettingsSection, ...] = (MQTT, DBASE, INBOX, QUARANTINE, HTTP, FILTER, STATS, PLUGINS, LOGS)
