"""Dockyard's exception tree; each class carries the CLI exit code it maps to.

DockyardError                 (exit 1)
├── SpecError                 (exit 2)  the spec is invalid: every problem, each with file and key
├── ModelError                (exit 3)  the user's model class cannot be loaded or misbehaves
├── BuildError                (exit 4)  rendering or building an image failed
├── EngineError               (exit 5)  the container engine is missing or refused a request
├── GateError                 (exit 6)  `dockyard test` ran and a gate failed
├── JobError                  (exit 7)  a job or queue operation was refused
├── DoctorFindings            (exit 8)  the doctor found problems at or above --fail-on
└── ReleaseError              (exit 9)  a release step was refused: bad signature, no release
"""

from __future__ import annotations

from dataclasses import dataclass


class DockyardError(Exception):
    """Root of every error Dockyard raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec file: where it is, what was found, what was expected."""

    file: str
    key: str
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: found {self.found}; expected {self.expected}"


class SpecError(DockyardError):
    """The spec is invalid; carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the spec:\n{lines}")


class ModelError(DockyardError):
    """The model class cannot be imported, set up or called as the contract says."""

    exit_code = 3


class BuildError(DockyardError):
    """Rendering, locking dependencies or building an image failed."""

    exit_code = 4


class EngineError(DockyardError):
    """The container engine is unreachable or refused a request."""

    exit_code = 5


class GateError(DockyardError):
    """A `dockyard test` gate (parity, quality, latency, security) failed."""

    exit_code = 6


class JobError(DockyardError):
    """A job or queue operation was refused (unknown job, bad state, full queue)."""

    exit_code = 7


class DoctorFindings(DockyardError):
    """The doctor found problems at or above the failing severity."""

    exit_code = 8


class ReleaseError(DockyardError):
    """A shipping step was refused: a signature that does not verify, a release that is not
    recorded, nothing to roll back to. Nothing was deployed."""

    exit_code = 9
