"""A small Dockerfile parser: continuations, heredocs, stages, flags, exec form, line numbers."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

_DIRECTIVE = re.compile(r"^#\s*(\w+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?(\w+)[\"']?")
_FLAG = re.compile(r"^--([\w-]+)(?:=(\S*))?$")
_VAR = re.compile(r"\$\{?(\w+)(?::-([^}]*))?\}?")


@dataclass(frozen=True)
class Instruction:
    """One instruction with its flags split off; `line` is where it starts (1-based)."""

    keyword: str
    args: str
    line: int
    end_line: int
    flags: dict[str, str] = field(default_factory=dict)
    heredocs: tuple[str, ...] = ()

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return [str(v) for v in value] if isinstance(value, list) else None

    @property
    def command(self) -> str:
        """The command as one string, whatever the form, with heredoc bodies appended."""
        form = self.exec_form
        text = " ".join(form) if form is not None else self.args
        return "\n".join((text, *self.heredocs))


@dataclass(frozen=True)
class Stage:
    """A build stage: its FROM line, base image (ARGs resolved), optional name and body."""

    index: int
    base: str
    name: str | None
    line: int
    instructions: tuple[Instruction, ...]

    def of(self, *keywords: str) -> list[Instruction]:
        """The stage's instructions with one of these keywords, in order."""
        return [i for i in self.instructions if i.keyword in keywords]


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile. `final` is the stage the image ships."""

    path: str
    text: str
    stages: tuple[Stage, ...]
    global_args: dict[str, str]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def instructions(self) -> list[Instruction]:
        return [i for s in self.stages for i in s.instructions]

    def stage_named(self, name: str) -> Stage | None:
        """The stage a `FROM name` or `COPY --from=name` refers to, if it is one of ours."""
        for stage in self.stages:
            if stage.name == name.lower() or str(stage.index) == name:
                return stage
        return None


def parse_dockerfile(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse `text`; unknown or malformed lines are kept as instructions, never fatal."""
    instructions = list(_instructions(text.splitlines()))
    return _stages(path, text, instructions)


def _instructions(lines: list[str]) -> list[Instruction]:
    escape = _escape_char(lines)
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts, i = _logical_line(lines, i, escape)
        text = " ".join(parts)
        heredocs, i = _heredoc_bodies(lines, i, text)
        out.append(_instruction(text, start + 1, i, heredocs))
    return out


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            return match.group(2)
    return "\\"


def _logical_line(lines: list[str], i: int, escape: str) -> tuple[list[str], int]:
    """Join a line and its continuations; comment lines inside a continuation are dropped."""
    parts: list[str] = []
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        if parts and raw.lstrip().startswith("#"):
            continue
        if raw.endswith(escape):
            parts.append(raw[: -len(escape)].strip())
            continue
        parts.append(raw.strip())
        break
    return [p for p in parts if p], i


def _heredoc_bodies(lines: list[str], i: int, text: str) -> tuple[tuple[str, ...], int]:
    bodies: list[str] = []
    for delimiter in _HEREDOC.findall(text):
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != delimiter:
            body.append(lines[i])
            i += 1
        i += 1
        bodies.append("\n".join(body))
    return tuple(bodies), i


def _instruction(text: str, line: int, end_line: int, heredocs: tuple[str, ...]) -> Instruction:
    keyword, _, rest = text.partition(" ")
    flags: dict[str, str] = {}
    rest = rest.strip()
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        match = _FLAG.match(word)
        if not match:
            break
        flags[match.group(1).lower()] = match.group(2) or ""
        rest = remainder.strip()
    return Instruction(keyword.upper(), rest, line, max(end_line, line), flags, heredocs)


def _stages(path: str, text: str, instructions: list[Instruction]) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    current: list[Instruction] = []
    header: Instruction | None = None
    for ins in instructions:
        if ins.keyword == "FROM":
            if header is not None:
                stages.append(_stage(len(stages), header, current, global_args))
            header, current = ins, []
        elif header is None:
            if ins.keyword == "ARG":
                global_args.update(arg_defaults(ins))
        else:
            current.append(ins)
    if header is not None:
        stages.append(_stage(len(stages), header, current, global_args))
    if not stages:
        stages.append(Stage(0, "scratch", None, 1, tuple(current)))
    return Dockerfile(path, text, tuple(stages), global_args)


def _stage(index: int, header: Instruction, body: list[Instruction], args: dict[str, str]) -> Stage:
    words = header.args.split()
    base = substitute(words[0], args) if words else "scratch"
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
    return Stage(index, base, name, header.line, tuple(body))


def arg_defaults(ins: Instruction) -> dict[str, str]:
    """`ARG A=1 B` -> {"A": "1", "B": ""}."""
    out: dict[str, str] = {}
    for word in split_words(ins.args):
        name, _, value = word.partition("=")
        out[name] = value
    return out


def key_values(ins: Instruction) -> list[tuple[str, str]]:
    """The pairs of an ENV or LABEL, in both `K=V K2=V2` and legacy `K V` forms."""
    words = split_words(ins.args)
    if words and "=" not in words[0]:
        return [(words[0], ins.args.split(None, 1)[1] if len(words) > 1 else "")]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if "=" in w]


def split_words(text: str) -> list[str]:
    """Shell-like split that never raises on unbalanced quotes."""
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def substitute(text: str, args: dict[str, str]) -> str:
    """Resolve `$A`, `${A}` and `${A:-x}` from ARG defaults (unknown ones stay as written)."""

    def one(match: re.Match[str]) -> str:
        value = args.get(match.group(1)) or match.group(2)
        return value if value else match.group(0)

    return _VAR.sub(one, text)


def final_chain(df: Dockerfile) -> list[Stage]:
    """The stages whose layers end up in the shipped image: the final one and its FROM parents."""
    chain = [df.final]
    while (parent := df.stage_named(chain[0].base)) is not None and parent not in chain:
        chain.insert(0, parent)
    return chain


def shipped(df: Dockerfile, *keywords: str) -> list[Instruction]:
    """Instructions with these keywords in the stages that ship."""
    return [i for stage in final_chain(df) for i in stage.of(*keywords)]


def root_base(df: Dockerfile) -> tuple[str, int]:
    """The external base image of the shipped image and the line of its FROM."""
    first = final_chain(df)[0]
    return first.base, first.line
