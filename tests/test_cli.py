"""The CLI loads only the module of the command it runs (`dockyard serve` is a cold start)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import typer

from dockyard.cli.main import COMMANDS, command_module, full_app


def test_the_command_map_is_what_each_module_registers() -> None:
    for name, commands in COMMANDS.items():
        cli = typer.Typer()
        command_module(name).register(cli)
        registered = [command_name(c.name, c.callback) for c in cli.registered_commands]
        registered += [g.name for g in cli.registered_groups if g.name]
        assert tuple(registered) == commands, name
    everything = [c for commands in COMMANDS.values() for c in commands]
    assert len(everything) == len(set(everything))
    whole = full_app()
    assert len(whole.registered_commands) + len(whole.registered_groups) == len(everything)


def command_name(name: str | None, callback: Callable[..., Any] | None) -> str:
    """Typer's rule: the given name, else the function's name with dashes."""
    assert name or callback
    return name or callback.__name__.replace("_", "-")  # type: ignore[union-attr]


def test_serve_loads_none_of_the_other_commands_imports() -> None:
    probe = (
        "import sys\n"
        "from dockyard.cli.main import main\n"
        "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'docker', 'httpx', 'requests', 'rich', 'dockyard.doctor', 'dockyard.image'}\n"
        "print(sorted(m for m in sys.modules if m in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_a_lone_command_module_still_takes_its_command_name() -> None:
    """k8s is its module's only command: Typer must not run it for `dockyard k8s DIR`."""
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", "k8s", "/nonexistent-project"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "dockyard.toml" in done.stderr, done.stderr
