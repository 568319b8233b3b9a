"""DY604: dependencies resolved at build time with no lock file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile, Instruction, split_words
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs, simple_commands

_LOCK = re.compile(
    r"(\.lock|requirements[\w.-]*\.txt|constraints[\w.-]*\.txt|pylock[\w.-]*"
    r"\.toml)$|^\.$|^\./?$"
)


def _copies_lock(df: Dockerfile) -> bool:
    sources = [
        s
        for i in df.instructions
        if i.keyword in ("COPY", "ADD")
        for s in (i.exec_form or split_words(i.args))[:-1]
    ]
    return any(_LOCK.search(s.rstrip("/")) for s in sources)


def _unlocked(ins: Instruction, has_lock: bool) -> str | None:
    for words in simple_commands(ins.command):
        if words[:2] == ["uv", "sync"] and not {"--frozen", "--locked"} & set(words):
            return "uv sync without --frozen or --locked"
        if words[:2] == ["pipenv", "install"] and "--deploy" not in words:
            return "pipenv install without --deploy"
        if words[:2] == ["poetry", "install"] and not has_lock:
            return "poetry install with no poetry.lock copied in"
    for inst in installs(ins.command):
        local = [p for p in inst.packages if p in {".", "./"} or p.startswith("./")]
        if (
            inst.tool in {"pip", "uv"}
            and local
            and not has_lock
            and not {"-c", "--constraint"} & set(inst.flags)
        ):
            return f"pip install {local[0]} resolves dependencies with no lock file"
        if "requirements.in" in ins.command:
            return "installs from requirements.in, the unlocked input"
    return None


def _check(df: Dockerfile) -> Iterator[Hit]:
    has_lock = _copies_lock(df)
    for ins in df.instructions:
        if ins.keyword == "RUN" and (reason := _unlocked(ins, has_lock)):
            yield Hit(ins.line, reason)


RULE = Rule(
    "DY604",
    "No lock file",
    "warning",
    "reproducibility",
    ("dockerfile",),
    fix="Commit a lock file (uv.lock, poetry.lock, or a pip-compile'd requirements.txt with "
    "hashes), copy it in, and install from it (`uv sync --frozen`).",
    check=_check,
)
