"""The doctor's image set (issue 11): on the image of every example, `dockyard doctor --image`
reports no error and no secret, and (Dockyard built them all) no DY109 junk.

CI time matters, so each example image is checked by the engine test that already builds it
(one build per image in the whole suite); COVERAGE says which test that is, and
test_image_set_coverage keeps it complete when an example is added.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockyard.doctor import Finding, check_image
from dockyard.doctor.image import read_image

REPO = Path(__file__).resolve().parents[2]
PROJECT_LABEL = "dev.dockyard.project"  # dockyard.image.container: set on every image it builds
_SET = "tests/doctor/test_image_set_engine.py"
COVERAGE = {  # example project (a folder with dockyard.toml) -> the engine test checking its image
    "digits": _SET,
    "embed": _SET,
    "gateway": _SET,
    "generate": "tests/generate/test_example_engine.py",
    "pipeline": "tests/pipeline/test_engine.py",
    "pipeline/stages/clean": "tests/pipeline/test_engine.py",
    "pipeline/stages/features": "tests/pipeline/test_engine.py",
    "pipeline/stages/classify": "tests/pipeline/test_engine.py",
    "router": "tests/router/test_engine.py",
    "router/v2": "tests/router/test_engine.py",
    "schedule": "tests/scheduler/test_engine.py",
    "stack/sqlite": "tests/stack/test_engine.py",
    "stack/redis": "tests/stack/test_engine.py",
}


def alarms(findings: list[Finding], built_by_dockyard: bool = True) -> list[str]:
    """What would fail a CI gate: errors and secret findings; DY109 on Dockyard's own builds."""
    return [
        f"{f.rule} {f.message}"
        for f in findings
        if f.severity == "error"
        or f.category == "secrets"
        or (built_by_dockyard and f.rule == "DY109")
    ]


def image_alarms(*images: str) -> dict[str, list[str]]:
    """Image -> its alarms, for each image given (the doctor reads each from the engine)."""
    return {image: alarms(check_image(read_image(image))) for image in images}


def project_images(compose_project: str) -> dict[str, str]:
    """Dockyard project name -> image, for the images Dockyard built that the project runs
    (third-party ones such as Redis carry no project label and are left out)."""
    ps = ["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={compose_project}",
          "--format", "{{.Image}}"]  # fmt: skip
    images = sorted(
        set(subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split())
    )
    found = {}
    for image in images:
        fmt = f'{{{{index .Config.Labels "{PROJECT_LABEL}"}}}}'
        inspect = ["docker", "image", "inspect", "--format", fmt, image]
        label = subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip()
        if label and label != "<no value>":
            found[label] = image
    return found
