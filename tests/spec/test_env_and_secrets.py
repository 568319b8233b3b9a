"""[env] and secrets in the spec: plain values reach every process and target; secrets are refused
there with a pointer to the right form (issue 10, items 4 and 5)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.deploy.compose import render_compose
from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.errors import SpecError
from dockyard.image.container import RunSettings, container_config
from dockyard.runtime.worker.model import load_executor
from dockyard.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
HEAD = '[project]\nname = "gw"\n\n[model]\nentrypoint = "model:Gateway"\n'
MODEL = """
import os

from dockyard import Model


class Gateway(Model[str, str]):
    def predict(self, batch: list[str]) -> list[str]:
        return [os.environ.get(name, "<unset>") for name in batch]
"""
ENV = '\n[env]\nOPENAI_BASE_URL = "http://upstream:8080/v1"\nMAX_NEW_TOKENS = "256"\n'


def project(root: Path, text: str, top: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.py").write_text(MODEL)
    (root / "dockyard.toml").write_text(top + HEAD + text)
    return root


def problems(root: Path) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        load_spec(root)
    return {p.key: f"{p.found} | {p.expected}" for p in caught.value.problems}


# ---- refused, with the file, key and the right form ------------------------------------------
def test_secret_values_and_names_in_env_are_refused(tmp_path: Path) -> None:
    key = "sk-proj-abcdefghijklmnopqrstT3BlbkFJuvwx1234abcdefghijkl"  # a valid shape
    text = f'\n[env]\nOPENAI_API_KEY = "{key}"\nHF_TOKEN = "hf_x"\n'
    text += 'UPSTREAM = "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"\nBASE_URL = "http://x"\n'
    found = problems(project(tmp_path, text))
    assert sorted(found) == ["env.HF_TOKEN", "env.OPENAI_API_KEY", "env.UPSTREAM"]
    assert "OpenAI API key" in found["env.OPENAI_API_KEY"]
    assert "GitHub token" in found["env.UPSTREAM"]
    for message in found.values():
        assert "secrets = [" in message and "/run/secrets/NAME" in message
        assert "sk-proj" not in message and "ghp_" not in message, "never echo the value"


def test_secrets_table_gets_the_right_form_not_a_pydantic_message(tmp_path: Path) -> None:
    found = problems(project(tmp_path, '\n[secrets]\nopenai_key = "sk-live-value-1234567890"\n'))
    message = found["secrets"]
    assert "valid tuple" not in message and "sk-live" not in message
    assert 'secrets = ["openai_key"]' in message and "--secret NAME=FILE" in message


def test_keys_written_under_a_table_get_a_hint(tmp_path: Path) -> None:
    text = '\n[serving]\nport = 8000\nsecrets = ["k"]\nenv = { A = "1" }\n'
    found = problems(project(tmp_path, text))
    assert "top-level, before the first [table]" in found["serving.secrets"]
    assert "top-level [env] table" in found["serving.env"]


def test_an_environment_variable_under_a_table_points_to_env(tmp_path: Path) -> None:
    found = problems(project(tmp_path, '\n[serving]\nOPENAI_BASE_URL = "http://up:8080/v1"\n'))
    assert 'the [env] table: OPENAI_BASE_URL = "..."' in found["serving.OPENAI_BASE_URL"]
    typo = problems(project(tmp_path, "\n[serving]\nprot = 1\n"))
    assert "check the spelling" in typo["serving.prot"]


def test_the_cli_prints_the_hint_with_its_brackets(tmp_path: Path) -> None:
    """The CLI's console must not read `[env]` as markup and drop it (it did)."""
    root = project(tmp_path, '\n[serving]\nOPENAI_BASE_URL = "http://up:8080/v1"\n')
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", "serve", str(root)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "the [env] table" in " ".join(done.stderr.split())


def test_env_names_must_be_variable_names(tmp_path: Path) -> None:
    found = problems(project(tmp_path, '\n[env]\n"BAD-NAME" = "1"\n'))
    assert "BAD-NAME" in found["env"]


def test_list_form_of_secrets_loads(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path, ENV, top='secrets = ["openai_key"]\n'))
    assert spec.secrets == ("openai_key",)
    assert spec.env["MAX_NEW_TOKENS"] == "256", "TOKENS as a word of a longer name is no secret"


# ---- reaches every process and target ---------------------------------------------------------
def test_env_reaches_run_container_config(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path, ENV))
    config = container_config(spec, tmp_path, RunSettings(image="gw:1", name="gw-env-test"))
    assert config["environment"]["OPENAI_BASE_URL"] == "http://upstream:8080/v1"
    assert config["environment"]["DOCKYARD_PORT"] == "8000"


def test_env_reaches_compose_api_and_workers(tmp_path: Path) -> None:
    root = project(tmp_path, ENV + "\n[worker]\nenabled = true\n")
    services = render_compose(load_spec(root), root, "gw:1")["services"]
    for name in ("api", "worker"):
        assert services[name]["environment"]["OPENAI_BASE_URL"] == "http://upstream:8080/v1"


def test_env_reaches_kubernetes_api_and_workers(tmp_path: Path) -> None:
    root = project(tmp_path, ENV + "\n[worker]\nenabled = true\n")
    docs = render_kubernetes(load_spec(root), "registry.example/gw:1")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert len(deployments) == 2
    for doc in deployments:
        env = doc["spec"]["template"]["spec"]["containers"][0]["env"]  # type: ignore[index]
        assert {"name": "MAX_NEW_TOKENS", "value": "256"} in env


def test_env_reaches_pipeline_stage_containers(tmp_path: Path) -> None:
    root = tmp_path / "pipeline"
    shutil.copytree(REPO / "examples" / "pipeline", root)
    stage_spec = root / "stages" / "features" / "dockyard.toml"
    stage_spec.write_text(stage_spec.read_text() + '\n[env]\nFEATURE_BUCKETS = "512"\n')
    top = root / "dockyard.toml"
    top.write_text(top.read_text().replace("[serving]", '[env]\nFRONT_FLAG = "1"\n\n[serving]'))
    services = render_compose(load_spec(root), root, "textpipe:1")["services"]
    assert services["pipeline-features"]["environment"]["FEATURE_BUCKETS"] == "512"
    assert "FEATURE_BUCKETS" not in services["pipeline-clean"]["environment"], (
        "each stage its own env"
    )
    assert services["pipeline-front"]["environment"]["FRONT_FLAG"] == "1"


def test_env_reaches_a_worker_process_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    root = project(tmp_path, ENV)
    monkeypatch.syspath_prepend(str(root))
    executor = load_executor(load_spec(root), root)
    [result] = executor(["OPENAI_BASE_URL"])
    assert result.value == "http://upstream:8080/v1"
