"""The declarative project file: typed, frozen, validated with every problem reported at once."""

from dockyard.spec.base import format_size, parse_size
from dockyard.spec.load import (
    SPEC_FILE,
    find_spec_file,
    load_spec,
    parse_spec,
    runs_in_container,
)
from dockyard.spec.model import Spec, resolve
from dockyard.spec.project import Artifact

__all__ = [
    "SPEC_FILE",
    "Artifact",
    "Spec",
    "find_spec_file",
    "format_size",
    "load_spec",
    "parse_size",
    "parse_spec",
    "resolve",
    "runs_in_container",
]
