"""The `dockyard` CLI in-process, as tests drive it: its exit code, never an exception."""

from __future__ import annotations

from dockyard.cli.main import main


def cli(*args: str) -> int:
    """Run `dockyard ARGS...`; the exit code it would give the shell."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
