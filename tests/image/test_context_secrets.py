"""What enters the image: secret files stay out by name, secret values stop the build, and
development-only files stay out (issue 10, items 6 and 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dockyard.cli.secretscan import refuse_secrets
from dockyard.errors import BuildError
from dockyard.image.context import app_files
from dockyard.image.plan import plan_for
from dockyard.spec import load_spec

from .conftest import FIXTURES, OVERRIDES

OPENAI = "sk-proj-" + "Zx81kq0Pm2Lw5Rt7Yb3Nc9Vd" + "T3BlbkFJ" + "Zx81kq0Pm2Lw5Rt7Yb3Nc9Vd"
FILES = {
    # secret files by name (an upstream's usage line suggested key.txt)
    "key.txt": "just-a-key-value-0000",
    ".env.production": "A=1\n",
    "certs/server.pem": "pem\n",
    "deploy/id_ed25519": "key\n",
    "gcp/service-account-prod.json": "{}\n",
    "creds/credentials.json": "{}\n",
    "hf_token": "x\n",
    "db-secret.yaml": "a: 1\n",
    ".kube/config": "x\n",
    "token.json": "{}\n",  # what Google's OAuth quickstart writes
    "openai_token.json": "{}\n",
    "client_secret_123.apps.json": "{}\n",
    "secret": "x\n",
    "upstream-secret": "x\n",
    "credentials": "x\n",
    "key.json": "{}\n",
    "signing-key.json": "{}\n",
    "keyfile": "x\n",
    ".env": "A=1\n",
    "server.key": "key\n",
    ".git/config": "[core]\n",
    # model files that merely contain the word: they must stay
    "tokenizer.json": '{"model": {}}\n',
    "special_tokens_map.json": "{}\n",
    "added_tokens.json": "{}\n",
    "tokenizer_config.json": "{}\n",
    "secrets_of_the_model.md": "notes\n",
    "keys.py": "KEYS = ('a', 'b')\n",
    # development only
    "requirements-dev.txt": "pytest\n",
    "requirements-export.txt": "onnx\n",
    "eval.jsonl": '{"input": [0], "label": 1}\n',
    "export.py": "print('export')\n",
    "Makefile": "all:\n",
}
KEPT = {
    "model.py",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer_config.json",
    "secrets_of_the_model.md",
    "keys.py",
}


def project(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "linear"
    shutil.copytree(FIXTURES / "linear", root)
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    spec = root / "dockyard.toml"
    text = spec.read_text().replace('eval_file = "tests/eval.jsonl"', 'eval_file = "eval.jsonl"')
    text = text.replace("[build.gate]", f'[build]\nexclude = ["export.py"]\n{extra}\n[build.gate]')
    spec.write_text(text)
    return root


def files(root: Path) -> set[str]:
    spec = load_spec(root)
    return set(app_files(plan_for(spec, root, OVERRIDES), root).files)


def test_secret_and_development_files_stay_out_of_the_image(tmp_path: Path) -> None:
    kept = files(project(tmp_path))
    leaked = sorted(kept & set(FILES) - KEPT)
    assert leaked == [], f"entered the image: {leaked}"
    assert kept >= KEPT


def test_a_secret_value_in_any_copied_file_stops_the_build(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "settings.yaml").write_text(f"upstream:\n  api_key: {OPENAI}\n")
    (root / "client.py").write_text(f'DEFAULT = "{OPENAI}"\n')
    (root / "weights.bin").write_bytes(b"\0\1" + OPENAI.encode())  # binary: not scanned
    spec = load_spec(root)
    with pytest.raises(BuildError) as caught:
        refuse_secrets(spec, root, app_files(plan_for(spec, root, OVERRIDES), root))
    message = str(caught.value)
    assert "settings.yaml (OpenAI API key)" in message and "client.py (OpenAI API key)" in message
    assert "weights.bin" not in message and OPENAI not in message
    assert "build.allow_files" in message and "--secret NAME=FILE" in message


def test_allowed_files_are_built(tmp_path: Path) -> None:
    root = project(tmp_path, 'allow_files = ["fixtures/*.yaml"]\n')
    (root / "fixtures").mkdir()
    (root / "fixtures" / "fake.yaml").write_text(f"api_key: {OPENAI}\n")
    spec = load_spec(root)
    app = app_files(plan_for(spec, root, OVERRIDES), root)
    assert "fixtures/fake.yaml" in app.files
    refuse_secrets(spec, root, app)  # no error


def test_a_secret_in_a_config_assignment_is_found(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "upstream.toml").write_text('password = "q8Zr2Lm5Xv9Tb4Nc"\n')
    spec = load_spec(root)
    with pytest.raises(BuildError, match=r"upstream.toml \(value of secret-like password\)"):
        refuse_secrets(spec, root, app_files(plan_for(spec, root, OVERRIDES), root))
