"""The doctor on real images: no false alarm on healthy ones, every planted format found.

Images: the digits, embed and gateway examples as `dockyard build` makes them (no other engine
test builds these; the other examples' images are checked where they are built, see
tests/doctor/image_set.py), and an AI stack (torch,
transformers, sentence-transformers, scikit-learn, onnxruntime, openai, pandas) installed the
plain way, by pip into a venv. Wheels are downloaded once on the host into a temporary folder
keyed by the requirement set; the AI stack image is tagged by the same key and reused while it
exists (a cache, like the wheels). Every other image gets a unique tag and is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.doctor import check_image
from dockyard.doctor.image import read_image
from tests.doctor.image_set import COVERAGE, alarms
from tests.doctor.planted import PLANTED, kind_of

# The first run downloads ~330 MB of wheels and builds the AI stack; later runs reuse both.
pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(2400)]
BASE = "dockyard-local/python:3.11-bookworm"
ROOT = Path(__file__).parents[2]
REQUIREMENTS = (
    "torch==2.13.0",
    "transformers==5.24.0",
    "sentence-transformers==6.2.0",
    "scikit-learn==1.9.1",
    "onnxruntime==1.32.0",
    "openai==3.57.0",
    "pandas==3.1.1",
)
OWN = tuple(e for e, module in COVERAGE.items() if module.endswith("test_image_set_engine.py"))
KEY = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:12]
AI_STACK = f"dockyard-doctor-cache/ai-stack:{KEY}"
AI_DOCKERFILE = f"""FROM {BASE} AS build
COPY wheels/ /wheels/
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-index --find-links /wheels \\
    {" ".join(REQUIREMENTS)}

FROM {BASE}
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:/usr/bin:/bin
USER 10001:10001
CMD ["python", "-c", "import torch, transformers, sentence_transformers, sklearn, openai, pandas"]
"""


def _docker(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=timeout
    )


def _has_image(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


@pytest.fixture(scope="module", autouse=True)
def _engine() -> None:
    if shutil.which("docker") is None or not _has_image(BASE):
        pytest.skip(f"no engine or no {BASE} image")


def _wheelhouse() -> Path:
    """Wheels for REQUIREMENTS, downloaded on the host once per requirement set."""
    folder = Path(tempfile.gettempdir()) / f"dockyard-doctor-wheels-{KEY}"
    if folder.is_dir():
        return folder
    partial = Path(tempfile.mkdtemp(prefix="dockyard-doctor-wheels-"))
    platforms = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64"]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", *platforms,
         "--python-version", "3.11", "-d", str(partial), *REQUIREMENTS],
        check=True,
        timeout=1800,
    )  # fmt: skip
    partial.rename(folder)
    return folder


def _ai_stack(tmp: Path) -> str:
    if _has_image(AI_STACK):
        return AI_STACK
    context = tmp / "ai-stack"
    context.mkdir()
    shutil.copytree(_wheelhouse(), context / "wheels")
    (context / "Dockerfile").write_text(AI_DOCKERFILE)
    _docker("build", "-q", "-t", AI_STACK, str(context))
    return AI_STACK


def _example(name: str, tmp: Path) -> str:
    """Built from a copy: a build writes a lock and a work dir, never into the repository."""
    tag = f"dockyard-doctor-test/{name}:{uuid.uuid4().hex[:8]}"
    project = tmp / "examples" / name
    shutil.copytree(ROOT / "examples" / name, project, ignore=shutil.ignore_patterns(".dockyard"))
    subprocess.run(
        [str(Path(sys.executable).parent / "dockyard"), "build", str(project),
         "--base-image", BASE, "--tag", tag],
        check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    return tag


def _planted(tmp: Path, base: str) -> str:
    """`base` plus one file per format in a layer, deleted by the next layer."""
    context = tmp / "planted"
    (context / "leak").mkdir(parents=True)
    for number, text in enumerate(PLANTED.values()):
        (context / "leak" / f"settings{number}.py").write_text(text)
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY leak/ /srv/leak/\nUSER root\nRUN rm -rf /srv/leak\nUSER 10001:10001\n"
    )
    tag = f"dockyard-doctor-test/planted:{uuid.uuid4().hex[:8]}"
    _docker("build", "-q", "-t", tag, str(context))
    return tag


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("images")
    made: list[str] = []
    try:
        made += [_example(name, tmp) for name in OWN]
        stack = _ai_stack(tmp)
        made.append(_planted(tmp, stack))
        yield {**dict(zip(OWN, made, strict=False)), "ai-stack": stack, "planted": made[-1]}
    finally:
        for tag in made:
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


@pytest.mark.parametrize("name", [*OWN, "ai-stack"])
def test_healthy_images_raise_no_error_and_no_secret(images: dict[str, str], name: str) -> None:
    findings = check_image(read_image(images[name]))
    # Dockyard's own builds strip what DY109 calls junk; the pip-installed AI stack does not
    assert alarms(findings, built_by_dockyard=name != "ai-stack") == []


def test_every_planted_format_is_found_after_deletion(images: dict[str, str]) -> None:
    findings = [f for f in check_image(read_image(images["planted"])) if f.rule == "DY306"]
    messages = {f.message for f in findings}
    for number, label in enumerate(PLANTED):
        hits = [m for m in messages if f"/srv/leak/settings{number}.py " in m]
        assert len(hits) == 1, (label, sorted(messages))
        assert "deleted in layer" in hits[0] and kind_of(label) in hits[0], (label, hits)
    assert json.dumps(sorted(messages)).count("/srv/leak/") == len(PLANTED)
