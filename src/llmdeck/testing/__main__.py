"""`python -m llmdeck.testing`: run a fake provider as its own process until interrupted.

Every scalar knob of `Behaviour` is an option (`--latency 0.05`, `--status 429`, `--hang`, ...);
`--behaviour '{"tool_call": {"name": "f"}}'` sets any knob as JSON. While it runs, knobs can be
changed with `POST /_fake/behaviour` (a JSON object), `POST /_fake/reset`, and counts read at
`GET /_fake/counts`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from llmdeck.testing.fake_provider import FakeProvider, event_loop_factory
from llmdeck.testing.knobs import Behaviour


def _scalar(annotation: Any) -> type | None:
    """`float`, `int`, `str` or `bool` for a knob of that type (or of that type or None)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else None
    return annotation if annotation in (float, int, str, bool) else None


def parser() -> argparse.ArgumentParser:
    """The command line: address, log size, and one option per scalar knob."""
    cli = argparse.ArgumentParser(
        prog="python -m llmdeck.testing",
        description="Run a fake OpenAI + Anthropic provider on a real socket.",
    )
    cli.add_argument("--host", default="127.0.0.1", help="address to listen on")
    cli.add_argument("--port", type=int, default=9000, help="port to listen on (0: any free)")
    cli.add_argument("--log-size", type=int, default=0, help="requests to keep in the log")
    cli.add_argument("--behaviour", default=None, help="knobs as a JSON object")
    knobs = cli.add_argument_group("knobs")
    for name, field in Behaviour.model_fields.items():
        kind = _scalar(field.annotation)
        if kind is None:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = (field.description or "").replace("%", "%%")
        if kind is bool:
            knobs.add_argument(flag, dest=name, action="store_const", const=True, help=help_text)
        else:
            knobs.add_argument(flag, dest=name, type=kind, help=help_text)
    return cli


def _behaviour(args: argparse.Namespace) -> Behaviour:
    behaviour = Behaviour().merged_json(args.behaviour) if args.behaviour else Behaviour()
    changes = {
        name: getattr(args, name)
        for name in Behaviour.model_fields
        if getattr(args, name, None) is not None
    }
    return behaviour.merged(changes)


async def _serve(fake: FakeProvider) -> None:
    async with fake:
        print(
            f"llmdeck fake provider on {fake.url} "
            f"(OpenAI: {fake.openai_base}, Anthropic: {fake.anthropic_base})",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; exit 2 on bad options."""
    cli = parser()
    args = cli.parse_args(argv)
    try:
        behaviour = _behaviour(args)
    except ValueError as err:
        cli.error(str(err))
    fake = FakeProvider(behaviour, host=args.host, port=args.port, log_size=args.log_size)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_serve(fake))
    return 0


if __name__ == "__main__":
    sys.exit(main())
