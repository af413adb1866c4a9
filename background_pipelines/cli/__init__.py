"""The `bgp` command line. Each module in this package adds its own subcommands through a
`register(subparsers)` function, so a new command group is a new file, never an edit here."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bgp", description="background_pipelines: chat-character background cognition")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bgp` console script: subcommands set `func(args) -> exit code`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError

    from background_pipelines.config import ConfigError
    from background_pipelines.store.engine import StoreError, first_line

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ConfigError, StoreError) as exc:  # a bad setting or an unreachable store: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # the store failed mid-command; the statement and its parameters stay out
        print(f"error: the store failed: {first_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # python -m background_pipelines.cli
    sys.exit(main())
