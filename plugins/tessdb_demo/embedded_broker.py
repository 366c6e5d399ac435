"""The embedded MQTT broker: ``python -m tessdb_demo.embedded_broker --port N [--log FILE]``.

The demo runs it as a child process when mosquitto is not installed (or with
``--embedded-broker``).  It is amqtt's broker (asyncio, MQTT 3.1.1) with one TCP
listener on 127.0.0.1 and no plugins but the authentication one, which accepts
any client that gives a user name: amqtt keeps persistent sessions (and queues
QoS 1 messages for a subscriber that is away) only for named clients.  SIGTERM
or SIGINT shut it down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

__all__ = ["config", "main"]


def config(port: int, host: str = "127.0.0.1") -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # named clients only: with anonymous ones amqtt keeps no session and drops what a
        # subscriber misses while it reconnects
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}},
    }


async def serve(port: int, ready: str | None) -> None:
    from amqtt.broker import Broker

    broker = Broker(config(port))
    await broker.start()
    if ready:  # the demo waits for this file instead of probing the port (a probe logs an error)
        with open(ready, "w") as f:
            f.write(f"{port}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tessdb_demo.embedded_broker",
                                     description="A minimal MQTT 3.1.1 broker on 127.0.0.1 (amqtt), for the demo.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", help="Log file (default: standard error).")
    parser.add_argument("--ready", help="File written once the broker listens.")
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import amqtt  # noqa: F401
    except ImportError:
        print("the embedded broker needs the amqtt package: python3 -m pip install amqtt", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args.port, args.ready))
    except OSError as exc:
        print(f"embedded broker: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
