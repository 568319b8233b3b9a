"""The README's code blocks work: the Python runs, the spec is valid, the CLI steps succeed."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.spec import load_spec
from tests.support.procs import Server

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_leads_with_the_two_commands() -> None:
    first = blocks("bash")[0].splitlines()
    assert first[0].startswith("bash scripts/demo.sh") and first[1].startswith(
        "bash scripts/test.sh"
    )
    assert "exec bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_python_blocks_run() -> None:
    for code in blocks("python"):
        namespace: dict[str, object] = {}
        exec(compile(code, "README.md", "exec"), namespace)
        model = namespace["SentimentModel"]()  # type: ignore[operator]
        model.setup()
        out = model.predict(["a great day", "meh"])
        assert [o.label for o in out] == ["positive", "negative"]


def test_toml_block_is_a_valid_spec(tmp_path: Path) -> None:
    project = tmp_path / "digits"
    shutil.copytree(REPO / "examples" / "digits", project)
    (project / "dockyard.toml").write_text(blocks("toml")[0])
    spec = load_spec(project)
    assert spec.serving.max_batch_size == 64 and spec.artifacts[0].mode == "baked"


@pytest.mark.slow  # the installed `dockyard` command and a server process, end to end
def test_five_minute_walkthrough(tmp_path: Path) -> None:
    steps = [line for line in blocks("bash")[1].splitlines() if line.startswith("dockyard")]
    assert [s.split()[1] for s in steps] == ["init", "predict", "serve"]
    for step in steps[:2]:
        command = re.sub(r"\s+#.*$", "", step)
        result = subprocess.run(
            command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    assert '"label": "positive"' in result.stdout
    server = Server(tmp_path / "hello")
    try:
        server.wait("/readyz")
        answer = httpx.post(server.url + "/predict", json={"inputs": ["love it"]}).json()
        assert answer["outputs"][0]["label"] == "positive"
    finally:
        assert server.stop() == 0
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_model.py"],
        cwd=tmp_path / "hello",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tests.returncode == 0, tests.stdout


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_console_commands_match_the_cli() -> None:
    """Every `$ dockyard ...` line names a real command with real options (checked with --help,
    which click handles only after the options before it parsed)."""
    lines = [line[2:] for block in blocks("console") for line in block.splitlines()]
    commands = [re.sub(r"\s+#.*$", "", line) for line in lines if line.startswith("dockyard ")]
    assert len(commands) >= 10
    runner = CliRunner()
    for command in commands:
        args = [*shlex.split(command.split(">")[0])[1:], "--help"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{command}: {result.output}"
        assert "Usage:" in result.output
