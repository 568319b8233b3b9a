"""Build times of `dockyard build` beside `docker build` of a hand-written multi-stage Dockerfile.

    DOCKYARD_BASE_IMAGE=dockyard-local/python:3.11-bookworm \
        python bench/build_time.py examples/digits examples/embed

For each project, in a temporary git repository (a copy with `threadpoolctl==3.7.0` pinned, so
that the last case can bump it to 3.8.0): cold build, rebuild with no change, rebuild after a
one-line code change, rebuild after the dependency bump. Both builds read the same lock and
wheelhouse (resolved on the host first and not timed: it is the same download for both), and the
hand-written build gets the same files as its context directory. Dockyard is timed as the user
runs it (`dockyard build DIR`, a new process: CLI start-up, doctor review and report included).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from rich.console import Console

from dockyard.image.builder import prepare
from dockyard.image.context import write_tar
from dockyard.spec import load_spec

BASE = os.environ.get("DOCKYARD_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
DOCKYARD = str(Path(sys.executable).parent / "dockyard")
QUIET = Console(quiet=True)
PIN = "threadpoolctl=={}\n"

# Best practice by hand: dependencies before code, a build stage, no pip caches, non-root.
HAND = """FROM {base} AS build
RUN python3 -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
COPY wheels/ /tmp/wheels/
RUN /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels \\
    --require-hashes -r /tmp/requirements.lock
COPY dockyard/ /tmp/dockyard/
RUN /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /tmp/dockyard/*.whl

FROM {base}
RUN echo 'app:x:10001:10001::/tmp:/usr/sbin/nologin' >> /etc/passwd
ENV PATH=/opt/venv/bin:$PATH DOCKYARD_IN_CONTAINER=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
COPY --from=build /opt/venv /opt/venv
{models}COPY app/ /app/
WORKDIR /app
USER 10001:10001
CMD ["python", "-m", "dockyard.runtime", "serve", "/app"]
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def timed(command: list[str], cwd: Path | None = None) -> float:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed


def layers(ref: str) -> list[str]:
    out = subprocess.run(
        ["docker", "image", "inspect", ref, "--format", "{{json .RootFS.Layers}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout))


def saved_sizes(ref: str, wanted: list[str]) -> list[int]:
    """The bytes `docker save` writes for each layer in `wanted` (by diff id)."""
    with tempfile.TemporaryFile() as out:
        subprocess.run(["docker", "save", ref], stdout=out, check=True)
        out.seek(0)
        found = {}
        with tarfile.open(fileobj=out) as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.name.endswith("layer.tar") else None
                if handle is not None:
                    digest = hashlib.sha256()
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
                    found[f"sha256:{digest.hexdigest()}"] = member.size
    return [found[d] for d in wanted]


def new_layers(before: list[str], after: list[str]) -> list[str]:
    return [d for d in after if d not in set(before)]


class Project:
    """A project copy for dockyard and the same files as a plain directory for the hand build."""

    def __init__(self, source: Path, tmp: Path) -> None:
        self.root = tmp / source.name
        shutil.copytree(source, self.root, ignore=shutil.ignore_patterns(".dockyard"))
        name = f"bench-{source.name}-{os.getpid()}"
        toml = self.root / "dockyard.toml"
        text = toml.read_text()
        old = load_spec(self.root).project.name
        toml.write_text(text.replace(f'name = "{old}"', f'name = "{name}"', 1))
        spec = load_spec(self.root)
        self.requirements = self.root / str(spec.dependencies.requirements)
        self.requirements.write_text(self.requirements.read_text() + PIN.format("3.7.0"))
        self.module = self.root / (spec.model.entrypoint.split(":")[0].replace(".", "/") + ".py")
        self.tag = f"{name}:{spec.project.version}"
        self.hand_tag = f"{name}-hand:latest"
        self.hand = tmp / "hand"
        git(self.root, "init", "-q")
        self.commit()

    def commit(self) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", "bench", "--allow-empty")

    def stage_hand(self) -> None:
        """Resolve (untimed) and lay the staged files out as the hand build's directory."""
        prepared = prepare(self.root, BASE, self.tag, QUIET)
        with tempfile.TemporaryFile() as context:
            write_tar(prepared.entries, context)
            context.seek(0)
            shutil.rmtree(self.hand, ignore_errors=True)
            with tarfile.open(fileobj=context) as tar:
                tar.extractall(self.hand, filter="tar")
        models = "".join(f"COPY models/{a.name} {a.dest}\n" for a in prepared.plan.baked)
        (self.hand / "Dockerfile").write_text(HAND.format(base=BASE, models=models))

    def dockyard(self) -> float:
        return timed([DOCKYARD, "build", str(self.root), "--base-image", BASE])

    def docker(self, *flags: str) -> float:
        return timed(["docker", "build", "-q", *flags, "-t", self.hand_tag, str(self.hand)])

    def cleanup(self) -> None:
        subprocess.run(["docker", "rmi", "-f", self.tag, self.hand_tag], capture_output=True)
        label = f"label=dev.dockyard.project={self.tag.split(':')[0]}"
        ids = subprocess.run(["docker", "images", "-q", "--filter", label], capture_output=True)
        for image in ids.stdout.decode().split():
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def bench(source: Path) -> dict[str, str]:
    rows: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(source, Path(tmp))
        try:
            project.stage_hand()
            rows["cold build"] = _pair(project.dockyard(), project.docker("--no-cache"))
            warm = [(project.dockyard(), project.docker()) for _ in range(3)]
            rows["no-change rebuild (best of 3)"] = _pair(*map(min, zip(*warm, strict=True)))
            ours, hand = layers(project.tag), layers(project.hand_tag)
            with project.module.open("a") as module:
                module.write("# one-line change\n")
            project.commit()
            project.stage_hand()
            rows["one-line code change"] = _pair(project.dockyard(), project.docker())
            rows["new layers after the code change (docker save)"] = _pair_sizes(
                saved_sizes(project.tag, new_layers(ours, layers(project.tag))),
                saved_sizes(project.hand_tag, new_layers(hand, layers(project.hand_tag))),
            )
            text = project.requirements.read_text()
            project.requirements.write_text(text.replace(PIN.format("3.7.0"), PIN.format("3.8.0")))
            project.commit()
            project.stage_hand()
            rows["dependency bumped (threadpoolctl 3.7.0 -> 3.8.0)"] = _pair(
                project.dockyard(), project.docker()
            )
        finally:
            project.cleanup()
    return rows


def _pair(ours: float, hand: float) -> str:
    return f"{ours:.1f} s | {hand:.1f} s"


def _pair_sizes(ours: list[int], hand: list[int]) -> str:
    def show(sizes: list[int]) -> str:
        return f"{len(sizes)} layer(s), {sum(sizes) / 1e3:.1f} kB"

    return f"{show(ours)} | {show(hand)}"


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["examples/digits", "examples/embed"]:
        print(f"## {Path(arg).name}\n\n| | dockyard build | docker build (hand-written) |")
        print("|---|---|---|")
        for case, value in bench(Path(arg).resolve()).items():
            print(f"| {case} | {value} |", flush=True)
        print()
