"""Read and validate a spec file, reporting every problem at once with file and key path."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dockyard.errors import SpecError, SpecProblem
from dockyard.spec.environments import merged
from dockyard.spec.model import Spec

SPEC_FILE = "dockyard.toml"
IN_CONTAINER_ENV = "DOCKYARD_IN_CONTAINER"  # set to "1" by every image dockyard builds


def runs_in_container(environ: Mapping[str, str]) -> bool:
    """Whether `environ` (a process environment an entry point read) is an image's."""
    return environ.get(IN_CONTAINER_ENV) == "1"


def find_spec_file(root: Path) -> Path:
    """dockyard.toml, else a pyproject.toml with a [tool.dockyard] table."""
    direct = root / SPEC_FILE
    if direct.is_file():
        return direct
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "dockyard" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    raise SpecError(
        [SpecProblem(str(direct), "(file)", "no such file", f"a {SPEC_FILE} (try `dockyard init`)")]
    )


def load_spec(root: Path | str, in_container: bool = False, environment: str | None = None) -> Spec:
    """Load and validate the spec of the project in `root` (as `environment` sees it, if named).

    Inside an image dependency files and baked artifacts are not where the spec names them
    (installed and copied at build), so with `in_container` only runtime paths are checked. The
    environment is never read here: an image's entry point passes `runs_in_container(environ)`.
    """
    root = Path(root).resolve()
    path = find_spec_file(root)
    raw = _read_toml(path)
    prefix = ""
    if path.name == "pyproject.toml":
        raw, prefix = raw["tool"]["dockyard"], "tool.dockyard."
    spec = parse_spec(raw, root, str(path), prefix, build_files=not in_container)
    return spec if environment is None else for_environment(spec, raw, environment, str(path))


def parse_spec(
    raw: Mapping[str, Any], root: Path, file: str, prefix: str = "", build_files: bool = True
) -> Spec:
    """Validate raw TOML data; collect structural and file problems into one SpecError."""
    problems: list[SpecProblem] = []
    spec: Spec | None = None
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_from_pydantic(exc, file, prefix))
    problems.extend(_missing_files(raw, root, file, prefix, build_files))
    if spec is not None:
        for name in spec.environments:
            problems.extend(_environment_problems(spec, raw, name, file, prefix))
    if build_files:  # on the host; an image's spec was checked when it was built
        problems.extend(_secret_env(raw, file, prefix))
    if problems or spec is None:
        raise SpecError(problems)
    return spec


def for_environment(spec: Spec, raw: Mapping[str, Any], name: str, file: str) -> Spec:
    """The spec as environment `name` runs it: its overlay merged in and validated."""
    if name not in spec.environments:
        known = ", ".join(sorted(spec.environments)) or "none declared"
        raise SpecError(
            [
                SpecProblem(
                    file,
                    f"environments.{name}",
                    "no such environment",
                    f"one of: {known} (add [environments.{name}])",
                )
            ]
        )
    return Spec.model_validate(merged(raw, spec.environments[name]))


def _environment_problems(
    spec: Spec, raw: Mapping[str, Any], name: str, file: str, prefix: str
) -> Iterator[SpecProblem]:
    """An overlay's errors, keyed where the user wrote them (environments.NAME.stack.port)."""
    try:
        Spec.model_validate(merged(raw, spec.environments[name]))
    except ValidationError as exc:
        for problem in _from_pydantic(exc, file, prefix):
            key = problem.key.removeprefix(prefix)
            yield replace(problem, key=f"{prefix}environments.{name}.{key}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([SpecProblem(str(path), "(syntax)", str(exc), "valid TOML")]) from exc
    except OSError as exc:
        raise SpecError(
            [SpecProblem(str(path), "(file)", exc.strerror or str(exc), "a readable file")]
        ) from exc


def _from_pydantic(exc: ValidationError, file: str, prefix: str) -> Iterator[SpecProblem]:
    for err in exc.errors(include_url=False):
        key = prefix + ".".join(str(part) for part in err["loc"]) or "(root)"
        if err["type"] == "missing":
            yield SpecProblem(file, key, "nothing", "this key to be set")
        elif err["type"] == "extra_forbidden":
            yield SpecProblem(file, key, "an unknown key", _unknown_hint(err["loc"]))
        else:
            expected = err["msg"].removeprefix("Value error, ")
            found = err.get("input")
            # A table's contents may be the very values that must not be echoed (secrets).
            yield SpecProblem(
                file, key, "a table" if isinstance(found, dict) else repr(found), expected
            )


_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]*")  # OPENAI_BASE_URL, not `port` or `name`


def _unknown_hint(loc: tuple[int | str, ...]) -> str:
    """TOML puts keys written after a [table] into it; say so for the top-level ones."""
    if len(loc) > 1 and loc[-1] == "secrets":
        return "no such key here: `secrets = [...]` is top-level, before the first [table]"
    if len(loc) > 1 and loc[-1] == "env":
        return "no such key here: plain environment variables go in a top-level [env] table"
    if isinstance(loc[-1], str) and _ENV_NAME.fullmatch(loc[-1]):
        return f'no such key; an environment variable goes in the [env] table: {loc[-1]} = "..."'
    return "no such key (check the spelling)"


def _secret_env(raw: Mapping[str, Any], file: str, prefix: str) -> Iterator[SpecProblem]:
    """[env] holds plain settings; a secret there would be baked into images and manifests."""
    tables = [("env", raw.get("env"))]
    environments = raw.get("environments")
    if isinstance(environments, dict):
        tables += [
            (f"environments.{name}.env", table.get("env"))
            for name, table in environments.items()
            if isinstance(table, dict)
        ]
    for key, env in tables:
        if isinstance(env, dict):
            yield from _secrets_in(env, f"{prefix}{key}", file)


def _secrets_in(env: dict[str, Any], key: str, file: str) -> Iterator[SpecProblem]:
    for name, value in env.items():
        kind = secret_kind(str(name), value if isinstance(value, str) else "")
        if kind:
            yield SpecProblem(
                file,
                f"{key}.{name}",
                f"what looks like a secret ({kind})",
                f'a plain value; declare secrets = ["{str(name).lower()}"] instead, supply it '
                "with --secret NAME=FILE and read /run/secrets/NAME (docs/secrets.md)",
            )


def secret_kind(name: str, value: str) -> str | None:
    """What kind of secret `name = value` looks like, judged by the doctor's own detectors.

    `dockyard.detect` sits below spec, so one set of detectors means `dockyard doctor` and the
    spec never disagree; imported lazily, as only `[env]` values with content need it.
    """
    from dockyard.detect.secrets import check_value, is_secret_name

    hit = check_value(name, value)
    if hit is not None:
        return hit.kind
    return f"the name {name}" if is_secret_name(name) else None


def _missing_files(
    raw: Mapping[str, Any], root: Path, file: str, prefix: str, build_files: bool
) -> Iterator[SpecProblem]:
    """Paths the spec names must exist; checked on the raw data so they join structural errors."""
    # health.golden is not required here: `dockyard golden` writes it, and without it the
    # service runs with a warning that readiness has no canary (`dockyard build` requires it).
    candidates: list[tuple[str, object]] = []
    if build_files:
        candidates += [
            ("dependencies.requirements", _get(raw, "dependencies", "requirements")),
            ("dependencies.lock", _get(raw, "dependencies", "lock")),
            ("gate.eval", _get(raw, "gate", "eval")),
        ]
    artifacts = raw.get("artifacts", []) if build_files else []
    if isinstance(artifacts, list):
        for i, art in enumerate(artifacts):
            # A volume artifact may legitimately be absent at build time; it is checked at start-up.
            if isinstance(art, dict) and art.get("mode", "baked") == "baked":
                candidates.append((f"artifacts.{i}.path", art.get("path")))
    entry = _get(raw, "model", "entrypoint")
    if isinstance(entry, str) and ":" in entry:
        module = entry.split(":", 1)[0].replace(".", "/")
        if not (root / f"{module}.py").is_file() and not (root / module / "__init__.py").is_file():
            yield SpecProblem(
                file, prefix + "model.entrypoint", repr(entry), f"a module {module}.py in {root}"
            )
    for key, value in candidates:
        if isinstance(value, str) and not (root / value).exists():
            yield SpecProblem(
                file, prefix + key, repr(value), f"an existing path relative to {root}"
            )


def _get(raw: Mapping[str, Any], table: str, key: str) -> object:
    section = raw.get(table)
    return section.get(key) if isinstance(section, dict) else None
