"""The `dockyard` command: thin commands over spec, runtime, build and doctor.

This is the one place where DockyardError becomes an exit code and a message.

A run loads only the module that defines its command: `dockyard serve` is a cold start users
wait for, and the other commands' imports (the engine client, HTTP clients, the doctor) cost it
about 0.4 s. Help and unknown commands load them all.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from types import ModuleType
from typing import Any

import typer

from dockyard.errors import DockyardError

# Each module adds its own commands; the order here is the help order. A test checks this map
# against what each module registers.
COMMANDS: dict[str, tuple[str, ...]] = {
    "project": ("init", "golden"),
    "serve": ("serve", "predict"),
    "build": ("build", "run", "test"),
    "ship": ("push", "sbom", "keygen", "sign", "verify", "save", "load", "releases", "ci"),
    "release": ("deploy", "gate", "promote", "rollback", "undeploy"),
    "jobs": ("worker", "jobs"),
    "stack": ("compose", "up", "down", "ps", "logs"),
    "swarm": ("scale",),
    "kubernetes": ("k8s",),
    "router": ("router",),
    "patterns": ("schedule", "runs", "pipeline-stage"),
    "monitor": ("monitor", "status"),
    "doctor": ("doctor",),
}


def command_module(name: str) -> ModuleType:
    """The CLI module that registers a group of commands (a key of COMMANDS)."""
    return importlib.import_module(f"dockyard.cli.{name}")


def build_app(modules: tuple[str, ...] = tuple(COMMANDS)) -> typer.Typer:
    """A Typer app with the commands of `modules` (all of them by default)."""
    cli = typer.Typer(
        name="dockyard",
        help="From a Python model class to a production container deployment.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,  # help texts mention spec tables like [router]: print them literally
    )
    # A group even with one command: without a callback Typer would run a lone command
    # directly, reading `dockyard doctor DIR` as the arguments "doctor DIR".
    cli.callback()(_group)
    for name in modules:
        command_module(name).register(cli)
    return cli


def _group() -> None:
    """From a Python model class to a production container deployment."""


@cache
def full_app() -> typer.Typer:
    """Every command: for help, and for tests that drive the CLI in-process."""
    return build_app()


def app_for(args: list[str]) -> typer.Typer:
    """Only the module that defines `args`' command; every module for help or a typo."""
    if args:
        for name, commands in COMMANDS.items():
            if args[0] in commands:
                return build_app((name,))
    return full_app()


def __getattr__(name: str) -> Any:
    """`app` is the whole CLI, built on first use (tests and `python -m` callers import it)."""
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map Dockyard errors to their exit codes with a readable message."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app_for(args)(args=args, standalone_mode=False)
    except DockyardError as exc:
        from rich.console import Console
        from rich.markup import escape

        # escaped: messages name spec tables such as [env], which rich would read as markup
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        # Duck-typed: typer >= 0.20 vendors click, so its usage errors are not click's classes.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


if __name__ == "__main__":
    main()
