"""Image numbers for the examples: size vs the bare minimum and a naive Dockerfile, rebuild time
after a one-line code change (and which layers were reused), container start to ready.

    DOCKYARD_BASE_IMAGE=dockyard-local/python:3.11-bookworm python bench/images.py examples/digits

Each project is copied to a temporary directory first, so the examples stay untouched.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

import dockyard
from dockyard.image.builder import build_image, prepare, running_dockyard_wheel
from dockyard.image.context import write_tar
from dockyard.image.engine import Engine, Step
from dockyard.image.launch import launch, teardown
from dockyard.image.container import RunSettings
from dockyard.image.secrets import with_placeholders
from dockyard.image.selfwheel import SelfWheel, build_self_wheel, runtime_requirements
from dockyard.spec import load_spec

BASE = os.environ.get("DOCKYARD_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
QUIET = Console(quiet=True)

NAIVE = """FROM {base}
COPY . /app
WORKDIR /app
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-index \\
    --find-links /app/.dockyard/wheelhouse -r requirements.txt /app/{wheel} {runtime}
ENV DOCKYARD_IN_CONTAINER=1
CMD ["/opt/venv/bin/python", "-m", "dockyard.runtime", "serve", "/app"]
"""


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def minimum(engine: Engine, image: str) -> int:
    """Bytes of the installed venv + app + artifacts, as files (du --apparent-size)."""
    out = engine.run_once(
        image, ["sh", "-c", "du -sb /opt/venv /app /models 2>/dev/null"], entrypoint=[]
    )
    return sum(int(line.split("\t")[0]) for line in out.splitlines() if line[:1].isdigit())


def naive_size(engine: Engine, root: Path) -> int:
    """A single-stage, root, `COPY . /app` + pip Dockerfile built from the same wheelhouse."""
    pkg = Path(dockyard.__file__).parent
    wheel = build_self_wheel(pkg, dockyard.__version__, runtime_requirements(pkg))
    (root / wheel.filename).write_bytes(wheel.data)
    runtime = " ".join(json.dumps(r) for r in runtime_requirements(pkg))
    (root / "Dockerfile.naive").write_text(
        NAIVE.format(base=BASE, wheel=wheel.filename, runtime=runtime)
    )
    tag = f"bench-naive/{root.name}:latest"
    subprocess.run(
        ["docker", "build", "-q", "-f", "Dockerfile.naive", "-t", tag, "."],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (root / "Dockerfile.naive").unlink()
    (root / wheel.filename).unlink()
    return int((engine.image(tag) or {})["Size"])


def rebuild(engine: Engine, root: Path, tag: str, wheel: SelfWheel) -> tuple[float, list[Step]]:
    """Append one line to the model's module and rebuild; return seconds and the step events."""
    spec = load_spec(root)
    module = root / (spec.model.entrypoint.split(":")[0].replace(".", "/") + ".py")
    module.write_text(module.read_text() + "\n# one-line change\n")
    steps: list[Step] = []
    started = time.monotonic()
    prepared = prepare(root, BASE, tag, QUIET, wheel)
    buffer = io.BytesIO()
    write_tar(prepared.entries, buffer)
    buffer.seek(0)
    engine.build(buffer, tag, steps.append)
    return time.monotonic() - started, steps


def load_seconds(root: Path) -> float:
    """Model setup time in this process (import + setup), subtracted from start-to-ready."""
    code = (
        "import time,sys; from pathlib import Path; t=time.perf_counter();"
        "from dockyard.spec import load_spec; from dockyard.runtime.loader import *;"
        f"r=Path({str(root)!r}); s=load_spec(r); c=load_model_class(s,r);"
        "m=instantiate(c, artifact_paths(s,r,in_container=False)); m.setup();"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def start_to_ready(engine: Engine, root: Path, tag: str) -> float:
    spec = load_spec(root)
    started = time.monotonic()
    launched = launch(engine, spec, root, RunSettings(image=tag), with_placeholders(spec, {}), 300)
    elapsed = time.monotonic() - started
    teardown(engine, launched)
    return elapsed


def bench(project: Path) -> None:
    engine = Engine.connect()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / project.name
        shutil.copytree(project, root, ignore=shutil.ignore_patterns(".dockyard", "dockyard.lock"))
        t0 = time.monotonic()
        wheel = running_dockyard_wheel()  # pinned: others may edit dockyard meanwhile
        report = build_image(root, BASE, f"bench/{project.name}:latest", QUIET, wheel)
        first = time.monotonic() - t0
        floor = minimum(engine, report.image_id)
        naive = naive_size(engine, root)
        seconds, steps = rebuild(engine, root, report.tag, wheel)
        ready = start_to_ready(engine, root, report.tag)
        load = load_seconds(root)
    cached = {s.number for s in steps if s.cached}
    final = {s.number: s.instruction for s in steps}
    layered = ("RUN", "COPY")
    reused = [i[:50] for n, i in sorted(final.items()) if n in cached]
    rerun = [i[:50] for n, i in sorted(final.items()) if n not in cached and i.startswith(layered)]
    own = report.own_size
    print(f"## {project.name}")
    print(f"- first build (lock + wheelhouse + image): {first:.1f} s")
    print(f"- image {mb(report.size)} = base {mb(report.base_size)} + own {mb(own)}")
    print(
        f"- bare minimum (venv + app + artifacts as files): {mb(floor)}; "
        f"own is {100 * (own - floor) / floor:+.2f}% of it"
    )
    print(
        f"- naive single-stage image: {mb(naive)} ({mb(naive - report.base_size)} above the base, "
        f"{(naive - report.base_size) / own:.2f}x ours)"
    )
    print(
        f"- rebuild after a one-line code change: {seconds:.1f} s; {len(reused)} steps from cache; "
        f"re-run: {' | '.join(rerun)}"
    )
    print(
        f"- start to ready: {ready:.2f} s; model load (local setup) {load:.2f} s; "
        f"start to ready minus load: {ready - load:.2f} s"
    )
    print("- biggest packages: " + ", ".join(f"{n} {mb(s)}" for n, s in report.packages[:6]))
    print()


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["examples/digits", "examples/embed"]:
        bench(Path(arg).resolve())
