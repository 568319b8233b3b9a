"""CI pipelines that ship a project the way `docs/ship.md` describes, for GitHub and GitLab.

doctor (SARIF) -> build -> test gate -> push by digest (signed) -> deploy staging -> gate on
staging -> manual approval -> promote the same digest to prod. Every step is a `dockyard`
command; values reach the shell only through environment variables (never expressions inside
scripts, so a branch name cannot inject shell code), which also lets the tests run the very
same scripts in order on this machine.

Pure: `github(...)` and `gitlab(...)` return the documents, the CLI writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

SIGNING_KEY = "$RUNNER_TEMP/dockyard-signing.key"
# The push job's release record (digest, provenance, pusher) and SBOMs, kept as an artifact:
# deploy jobs merge it into their host's lasting record, so the push is not lost with the
# push job's checkout.
ARTIFACT = "dockyard-release"
GITHUB_RELEASE = "${{ runner.temp }}/dockyard-release"
GITLAB_RELEASE = "dockyard-release"
MERGE = 'dockyard releases "$DOCKYARD_PROJECT" --merge "$RELEASE/releases.json"'


@dataclass(frozen=True)
class Pipeline:
    """What the generated pipeline needs to know about the project and its home."""

    project: str  # the project directory, relative to the repository root
    install: str  # how CI installs Dockyard, e.g. `dockyard==0.1.0`
    public_key: str  # the signing key's public half, committed in the repository
    python: str = "3.11"
    branch: str = "main"
    staging: str = "staging"
    prod: str = "prod"


def github(p: Pipeline) -> dict[str, Any]:
    """A GitHub Actions workflow; `production` is a protected environment (required reviewers)."""
    setup: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": p.python}},
        {"id": "install", "name": "Install Dockyard", "run": f'pip install "{p.install}"'},
    ]
    on_main = f"github.ref == 'refs/heads/{p.branch}'"
    state = {"DOCKYARD_STATE": "/var/lib/dockyard/${{ github.repository }}"}
    return {
        "name": "dockyard",
        "on": {"push": {"branches": [p.branch]}, "pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "dockyard-${{ github.ref }}", "cancel-in-progress": False},
        "env": {"DOCKYARD_PROJECT": p.project},
        "jobs": {
            "doctor": {
                "runs-on": "ubuntu-latest",
                "permissions": {"contents": "read", "security-events": "write"},
                "steps": [
                    *setup,
                    {
                        "id": "doctor",
                        "name": "Doctor",
                        "run": 'dockyard doctor "$DOCKYARD_PROJECT" --format sarif > doctor.sarif'
                        " || echo failed > doctor.failed",
                    },
                    {
                        "name": "Upload findings to code scanning",
                        "if": "always()",
                        "uses": "github/codeql-action/upload-sarif@v3",
                        "with": {"sarif_file": "doctor.sarif", "category": "dockyard-doctor"},
                    },
                    {"id": "verdict", "name": "Fail on findings", "run": "test ! -e doctor.failed"},
                ],
            },
            "build": {
                "needs": "doctor",
                "runs-on": "ubuntu-latest",
                "outputs": {"reference": "${{ steps.push.outputs.reference }}"},
                "steps": [
                    *setup,
                    {"id": "build", "name": "Build", "run": 'dockyard build "$DOCKYARD_PROJECT"'},
                    {
                        "id": "gate",
                        "name": "Gate: parity, quality, latency, non-root, health",
                        "run": 'dockyard test "$DOCKYARD_PROJECT" --format json > gate.json',
                    },
                    {
                        "name": "Log in to the registry",
                        "if": on_main,
                        "uses": "docker/login-action@v3",
                        "with": {
                            "registry": "${{ secrets.DOCKYARD_REGISTRY_HOST }}",
                            "username": "${{ secrets.REGISTRY_USERNAME }}",
                            "password": "${{ secrets.REGISTRY_PASSWORD }}",
                        },
                    },
                    {
                        "id": "push",
                        "name": "Push by digest, signed",
                        "if": on_main,
                        "env": {
                            "DOCKYARD_REGISTRY": "${{ secrets.DOCKYARD_REGISTRY }}",
                            "SIGNING_KEY_PEM": "${{ secrets.DOCKYARD_SIGNING_KEY }}",
                            "DOCKYARD_STATE": GITHUB_RELEASE,
                        },
                        "run": _push_script(),
                    },
                    {
                        "name": "Keep the release record and SBOM",
                        "if": on_main,
                        "uses": "actions/upload-artifact@v4",
                        "with": {
                            "name": ARTIFACT,
                            "path": GITHUB_RELEASE,
                            "if-no-files-found": "error",
                        },
                    },
                ],
            },
            "deploy-staging": _deploy_job(p, setup, state, on_main),
            "promote-prod": {
                "needs": "deploy-staging",
                "if": on_main,
                "runs-on": "self-hosted",
                "environment": "production",
                "env": {**state, "DOCKYARD_VERIFY_KEY": p.public_key},
                "steps": [
                    *setup,
                    *_fetch_release(),
                    {
                        "id": "promote",
                        "name": f"Promote {p.staging} -> {p.prod} (gated on {p.staging})",
                        "run": f'dockyard promote "$DOCKYARD_PROJECT" {p.staging} {p.prod}',
                    },
                ],
            },
        },
    }


def _deploy_job(
    p: Pipeline, setup: list[dict[str, Any]], state: dict[str, str], on_main: str
) -> dict[str, Any]:
    return {
        "needs": "build",
        "if": on_main,
        "runs-on": "self-hosted",
        "environment": p.staging,
        "env": {
            **state,
            "DOCKYARD_VERIFY_KEY": p.public_key,
            "REFERENCE": "${{ needs.build.outputs.reference }}",
        },
        "steps": [
            *setup,
            *_fetch_release(),
            {
                "id": "deploy",
                "name": f"Deploy to {p.staging} (signature verified)",
                "run": f'dockyard deploy "$DOCKYARD_PROJECT" --env {p.staging} '
                '--image "$REFERENCE"',
            },
            {
                "id": "staging-gate",
                "name": f"Gate against the running {p.staging}",
                "run": f'dockyard gate "$DOCKYARD_PROJECT" --env {p.staging}',
            },
        ],
    }


def _fetch_release() -> list[dict[str, Any]]:
    """Steps adding the push job's record (provenance, pusher, SBOM) to this host's record."""
    return [
        {
            "name": "Fetch the release record",
            "uses": "actions/download-artifact@v4",
            "with": {"name": ARTIFACT, "path": GITHUB_RELEASE},
        },
        {
            "id": "merge",
            "name": "Record the push here",
            "env": {"RELEASE": GITHUB_RELEASE},
            "run": MERGE,
        },
    ]


def _push_script() -> str:
    return "\n".join(
        [
            "umask 077",
            f'printf "%s\\n" "$SIGNING_KEY_PEM" > "{SIGNING_KEY}"',
            f'reference="$(dockyard push "$DOCKYARD_PROJECT" --key "{SIGNING_KEY}")"',
            f'rm -f "{SIGNING_KEY}"',
            'echo "reference=$reference" >> "$GITHUB_OUTPUT"',
        ]
    )


def gitlab(p: Pipeline) -> dict[str, Any]:
    """A GitLab CI pipeline; promotion is a manual job on the protected `production` env."""
    install = f'pip install "{p.install}"'
    on_main = [{"if": f'$CI_COMMIT_BRANCH == "{p.branch}"'}]
    deploy_env = {"DOCKYARD_STATE": "/var/lib/dockyard/$CI_PROJECT_PATH"}
    release = {"RELEASE": f"$CI_PROJECT_DIR/{GITLAB_RELEASE}"}
    build_and_gate = [
        'dockyard build "$DOCKYARD_PROJECT"',
        'dockyard test "$DOCKYARD_PROJECT" --format json > gate.json',
    ]
    return {
        "stages": ["check", "build", "staging", "production"],
        "variables": {"DOCKYARD_PROJECT": p.project},
        "default": {"image": f"python:{p.python}-slim", "before_script": [install]},
        "doctor": {
            "stage": "check",
            "script": [
                'dockyard doctor "$DOCKYARD_PROJECT" --format sarif > doctor.sarif '
                "|| echo failed > doctor.failed",
                "test ! -e doctor.failed",
            ],
            "artifacts": {"when": "always", "paths": ["doctor.sarif"]},
        },
        # Branches build and gate; main also pushes, in the same job: a separate push job may
        # run on another runner, whose engine has no such image (or one built apart from the
        # image the gate tested).
        "build": {
            "stage": "build",
            "tags": ["docker"],
            "rules": [{"if": f'$CI_COMMIT_BRANCH != "{p.branch}"'}],
            "script": build_and_gate,
            "artifacts": {"paths": ["gate.json"]},
        },
        "release": {
            "stage": "build",
            "tags": ["docker"],
            "rules": on_main,
            "variables": {"DOCKYARD_STATE": f"$CI_PROJECT_DIR/{GITLAB_RELEASE}"},
            "script": [
                *build_and_gate,
                "umask 077",
                'printf "%s\\n" "$DOCKYARD_SIGNING_KEY" > signing.key',
                'dockyard push "$DOCKYARD_PROJECT" --key signing.key > reference.txt',
                "rm -f signing.key",
                'echo "REFERENCE=$(cat reference.txt)" > reference.env',
            ],
            "artifacts": {
                "paths": ["gate.json", f"{GITLAB_RELEASE}/"],
                "reports": {"dotenv": "reference.env"},
            },
        },
        "deploy-staging": {
            "stage": "staging",
            "needs": ["release"],
            "tags": ["dockyard-staging"],
            "rules": on_main,
            "environment": {"name": p.staging},
            "variables": {**deploy_env, "DOCKYARD_VERIFY_KEY": p.public_key, **release},
            "script": [
                MERGE,
                f'dockyard deploy "$DOCKYARD_PROJECT" --env {p.staging} --image "$REFERENCE"',
                f'dockyard gate "$DOCKYARD_PROJECT" --env {p.staging}',
            ],
        },
        "promote-prod": {
            "stage": "production",
            "needs": ["release", "deploy-staging"],
            "tags": ["dockyard-prod"],
            "rules": [{**on_main[0], "when": "manual"}],
            "allow_failure": False,
            "environment": {"name": "production"},
            "variables": {**deploy_env, "DOCKYARD_VERIFY_KEY": p.public_key, **release},
            "script": [MERGE, f'dockyard promote "$DOCKYARD_PROJECT" {p.staging} {p.prod}'],
        },
    }


def to_yaml(doc: dict[str, Any]) -> str:
    """Readable YAML: multi-line scripts as literal blocks, keys in the document's order."""
    header = "# Generated by `dockyard ci`; regenerate it rather than editing by hand.\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
