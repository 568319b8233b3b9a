"""Just enough shell reading for the rules: simple commands and the package installs in them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.doctor.parse.dockerfile import split_words

_SEPARATORS = re.compile(r"&&|\|\||;|\||\n")
_WRAPPERS = frozenset({"sudo", "env", "exec", "nohup", "time", "command"})


_STEPS = re.compile(r"&&|\|\||;|\n")


def steps(script: str) -> list[str]:
    """Split a shell script on `&&`, `||`, `;` and newlines; a pipeline stays one step."""
    return [part.strip() for part in _STEPS.split(script) if part.strip()]


def simple_commands(script: str) -> list[list[str]]:
    """Split a shell script on `&&`, `||`, `;`, `|` and newlines into word lists."""
    out = []
    for part in _SEPARATORS.split(script):
        words = split_words(part.strip())
        while words and (words[0] in _WRAPPERS or re.match(r"^\w+=", words[0])):
            words = words[1:]
        if words:
            out.append(words)
    return out


@dataclass(frozen=True)
class Install:
    """A package-manager install: which tool, its flags and the packages named."""

    tool: str
    flags: tuple[str, ...]
    packages: tuple[str, ...]


def installs(script: str) -> list[Install]:
    """Every `apt-get/apt/apk/dnf/yum/pip/uv pip/conda install` in a script."""
    out = []
    for words in simple_commands(script):
        found = _install(words)
        if found:
            out.append(found)
    return out


def _install(words: list[str]) -> Install | None:
    head = words[0].rsplit("/", 1)[-1]
    if head in {"python", "python3"} and words[1:3] == ["-m", "pip"]:
        head, words = "pip", words[2:]
    if head == "uv" and words[1:2] == ["pip"]:
        head, words = "pip", words[1:]
    if re.fullmatch(r"pip3?(\.\d+)?", head):
        head = "pip"
    verbs = {
        "apt-get": "install",
        "apt": "install",
        "apk": "add",
        "dnf": "install",
        "yum": "install",
        "microdnf": "install",
        "pip": "install",
        "conda": "install",
        "mamba": "install",
    }
    verb = verbs.get(head)
    if verb is None or verb not in words[1:]:
        return None
    rest = words[words.index(verb) + 1 :]
    flags = tuple(w for w in rest if w.startswith("-"))
    packages = tuple(w for w in rest if not w.startswith("-") and not _is_flag_value(rest, w))
    return Install(head, flags, packages)


def _is_flag_value(words: list[str], word: str) -> bool:
    """Whether `word` is the argument of a flag like `-r file` or `--index-url URL`."""
    i = words.index(word)
    takes_value = {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "-o",
        "--channel",
        "--python",
    }
    return i > 0 and words[i - 1] in takes_value


def mentions(script: str, *programs: str) -> bool:
    """Whether any simple command in `script` runs one of `programs`."""
    return any(w[0].rsplit("/", 1)[-1] in programs for w in simple_commands(script))
