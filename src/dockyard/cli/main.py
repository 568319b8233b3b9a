"""The `dockyard` command: thin commands over spec, runtime, build and doctor.

This is the one place where DockyardError becomes an exit code and a message.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from dockyard.cli import (
    build,
    doctor,
    jobs,
    kubernetes,
    monitor,
    patterns,
    project,
    release,
    router,
    serve,
    ship,
    stack,
    swarm,
)
from dockyard.errors import DockyardError

app = typer.Typer(
    name="dockyard",
    help="From a Python model class to a production container deployment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts mention spec tables like [router]: print them literally
)

# Explicit registry: each module adds its own commands; the order here is the help order.
for module in (
    project,
    serve,
    build,
    ship,
    release,
    jobs,
    stack,
    swarm,
    kubernetes,
    router,
    patterns,
    monitor,
    doctor,
):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map Dockyard errors to their exit codes with a readable message."""
    try:
        app(args=argv, standalone_mode=False)
    except DockyardError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
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
