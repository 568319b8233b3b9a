"""Golden-file tests of the rendered Dockerfile and .dockerignore (no engine needed)."""

from __future__ import annotations

from dataclasses import replace

from dockyard.image.dockerfile import render_dockerfile
from dockyard.image.dockerignore import render_dockerignore
from dockyard.image.plan import BuildPlan, plan_for
from dockyard.spec import Spec

from .conftest import FIXTURES, OVERRIDES, assert_golden


def _stable(text: str, spec: Spec) -> str:
    """The spec hash follows every spec-schema change elsewhere; golden files keep a marker."""
    return text.replace(spec.digest(), "<spec-sha256>")


def test_dockerfile_golden(linear_plan: BuildPlan, linear_spec: Spec) -> None:
    text = render_dockerfile(linear_plan)
    assert f'dev.dockyard.spec-sha256="{linear_spec.digest()}"' in text
    assert_golden("linear.Dockerfile.txt", _stable(text, linear_spec))


def test_dockerignore_golden(linear_spec: Spec) -> None:
    assert_golden("linear.dockerignore.txt", render_dockerignore(linear_spec))


def test_dockerfile_with_overridden_base_and_packages(linear_spec: Spec) -> None:
    spec = linear_spec.model_copy(
        update={"build": linear_spec.build.model_copy(update={"build_packages": ("gcc",)})}
    )
    plan = plan_for(spec, FIXTURES / "linear", replace(OVERRIDES, base_image="local/py:3.11"))
    assert_golden("linear-local-base.Dockerfile.txt", _stable(render_dockerfile(plan), spec))


def test_runtime_stage_has_no_build_tools(linear_plan: BuildPlan) -> None:
    runtime = render_dockerfile(linear_plan).split("\nFROM ")[-1]
    assert "pip" not in runtime and "apt-get" not in runtime and "dockyard-build" not in runtime
    assert "USER 10001:10001" in runtime and "STOPSIGNAL SIGTERM" in runtime


def test_classic_builder_syntax_only(linear_plan: BuildPlan) -> None:
    text = render_dockerfile(linear_plan)
    assert "# syntax" not in text and "--mount" not in text and "<<" not in text


def test_layers_order_dependencies_before_code(linear_plan: BuildPlan) -> None:
    text = render_dockerfile(linear_plan)
    order = [
        "COPY wheels/",
        "COPY models/",
        "COPY dockyard/",
        "COPY --from=build /opt/venv",
        "COPY --from=build /build/models/weights",
        "COPY --from=build /build/dockyard-site/",
        "COPY app/",
        "LABEL",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_doctor_finds_nothing_in_the_generated_dockerfile(linear_plan: BuildPlan) -> None:
    from dockyard.doctor.checker import check_text

    assert check_text("dockerfile", render_dockerfile(linear_plan), "Dockerfile") == []
