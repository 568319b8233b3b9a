"""On a real engine (issue 10): a secret value stops the build, secret files stay out of /app,
[env] reaches the `run` container, and a failed setup() ends the container with code 3 so a
restart policy acts."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from dockyard.cli.build import build_image
from dockyard.errors import BuildError
from dockyard.image.container import RunSettings, container_config
from dockyard.image.engine import Engine
from dockyard.image.launch import launch, teardown
from dockyard.image.secrets import private_dir, with_placeholders, write_secrets
from dockyard.spec import load_spec

from .conftest import FIXTURES
from .test_engine import BASE, _engine

pytestmark = [pytest.mark.engine, pytest.mark.slow]
OPENAI = "sk-proj-" + "Qw7Er2Ty9Ui4Op1As6Df3Gh" + "T3BlbkFJ" + "Qw7Er2Ty9Ui4Op1As6Df3Gh"
TAG = f"dockyard-test/everyday-spec-{uuid.uuid4().hex[:8]}:1"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return _engine()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("everyday") / "linear"
    shutil.copytree(FIXTURES / "linear", root)
    spec = root / "dockyard.toml"
    text = spec.read_text().replace(
        "[resources]", '[env]\nOPENAI_BASE_URL = "http://up:8080/v1"\n\n[resources]'
    )
    # development-only files: a script the spec excludes, dev requirements, the gate's eval data
    text = text.replace("[build.gate]", '[build]\nexclude = ["export.py"]\n\n[build.gate]')
    text = text.replace('eval_file = "tests/eval.jsonl"', 'eval_file = "eval.jsonl"')
    spec.write_text(text)
    (root / "tests" / "eval.jsonl").rename(root / "eval.jsonl")
    (root / "export.py").write_text("print('exports the weights; never needed to serve')\n")
    (root / "requirements-dev.txt").write_text("pytest\n")
    (root / "key.txt").write_text(OPENAI + "\n")  # kept out by name, so the build goes on
    return root


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path) -> Iterator[str]:
    leak = project / "settings.yaml"
    leak.write_text(f"upstream:\n  api_key: {OPENAI}\n")
    with pytest.raises(BuildError, match=r"settings\.yaml \(OpenAI API key\)"):
        build_image(project, BASE, TAG, Console(quiet=True))
    assert engine.image(TAG) is None, "refused before anything was built"
    leak.unlink()
    yield build_image(project, BASE, TAG, Console(quiet=True)).tag
    engine.api.remove_image(TAG, force=True)


def test_env_reaches_the_run_container_and_key_file_stays_out(
    engine: Engine, project: Path, image: str
) -> None:
    spec = load_spec(project)
    launched = launch(
        engine, spec, project, RunSettings(image=image), with_placeholders(spec, {}), 120
    )
    container = launched.api
    try:
        code, out = engine.exec(container, ["printenv", "OPENAI_BASE_URL"])
        assert (code, out.strip()) == (0, "http://up:8080/v1")
        code, _ = engine.exec(container, ["test", "-e", "/app/key.txt"])
        assert code == 1, "key.txt must not be in the image"
        for dev_only in ("export.py", "requirements-dev.txt", "eval.jsonl"):
            code, _ = engine.exec(container, ["test", "-e", f"/app/{dev_only}"])
            assert code == 1, f"{dev_only} is development-only and must not be in the image"
        code, _ = engine.exec(container, ["test", "-f", "/app/model.py"])
        assert code == 0, "the model's code is in /app (the checks above look in the right place)"
    finally:
        teardown(engine, launched)


def test_failed_setup_exits_3_and_the_restart_policy_acts(
    engine: Engine, project: Path, image: str, tmp_path: Path
) -> None:
    spec = load_spec(project)
    corrupt = tmp_path / "weights.json"
    corrupt.write_text("{not json")
    corrupt.chmod(0o644)
    secrets = write_secrets(with_placeholders(spec, {}), private_dir(), spec.build.uid)
    config = container_config(spec, project, RunSettings(image=image, secrets=secrets))
    config["host_config"]["binds"][str(corrupt)] = {"bind": "/models/weights", "mode": "ro"}
    config["host_config"]["restart_policy"] = {"Name": "on-failure", "MaximumRetryCount": 1}
    container = engine.create(**config)
    try:
        engine.start(container)
        deadline = time.monotonic() + 90
        state: dict[str, object] = {}
        while time.monotonic() < deadline:
            info = engine.inspect(container)
            state = info["State"]
            if info["RestartCount"] >= 1 and not state["Running"]:
                break
            time.sleep(1)
        assert state.get("ExitCode") == 3, state
        assert engine.inspect(container)["RestartCount"] == 1, "the restart policy acted"
        assert "setup failed" in engine.logs(container, tail=200)
    finally:
        engine.remove(container)
