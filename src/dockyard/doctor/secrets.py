"""Finding secrets by value (known token formats, entropy) and by name (whole words only).

Names are split into words, so `HF_TOKEN` and `OPENAI_API_KEY` are secret-like while
`TOKENIZERS_PARALLELISM` and `MAX_NEW_TOKENS` are not. Nothing here returns a secret in full
to a caller that prints: use `redact`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

# Known formats; the first that matches names the kind. Order matters (Anthropic before OpenAI).
FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("private key", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----"),
        ("Anthropic API key", r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{20,}"),
        ("OpenAI API key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        ("Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}"),
        ("Replicate API token", r"\br8_[A-Za-z0-9]{30,}"),
        ("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("Stripe secret key", r"\b[rs]k_live_[A-Za-z0-9]{20,}"),
    )
)
# Values that are only secret given a name, e.g. W&B keys are 40 hex digits, like a git sha.
_NAMED_FORMATS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("WANDB", "W&B API key", re.compile(r"^(?:local-)?[0-9a-f]{40,}$")),
    ("AWS", "AWS secret access key", re.compile(r"^[A-Za-z0-9/+]{40}$")),
)
_SECRET_WORDS = frozenset(
    {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIAL", "CREDENTIALS", "PRIVATEKEY"}
)
_KEY_QUALIFIERS = frozenset(
    {
        "API",
        "ACCESS",
        "PRIVATE",
        "SECRET",
        "SIGNING",
        "ENCRYPTION",
        "ACCOUNT",
        "MASTER",
        "LICENSE",
        "SERVICE",
    }
)
# Words that turn a secret-like name into a pointer to one (a path, a mount, a ref).
_NOT_VALUE_WORDS = frozenset(
    {
        "FILE",
        "PATH",
        "DIR",
        "ENDPOINT",
        "URL",
        "ID",
        "TYPE",
        "NAME",
        "HEADER",
        "LENGTH",
        "SIZE",
        "EXPIRY",
        "TTL",
        "REF",
    }
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_+/=.~:@!#%^*-]+$")
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PLACEHOLDER = re.compile(
    r"^(?:<.*>|\$.*|\{\{.*\}\}|x+|\*+|\.+|changeme|change-me|none|null|"
    r"your[-_].*|.*[-_]here|example.*|dummy.*|placeholder|redacted)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SecretHit:
    """A secret found in some text: what kind, where, and the value (never print it: `redact`)."""

    kind: str
    start: int
    end: int
    value: str

    @property
    def shown(self) -> str:
        return redact(self.value)


def redact(value: str) -> str:
    """First four characters, an ellipsis and the length: enough to recognise, not to use."""
    return f"{value[:4]}…({len(value)} chars)"


def name_words(name: str) -> list[str]:
    """`OPENAI_API_KEY`, `openaiApiKey`, `openai-api-key` -> ['OPENAI', 'API', 'KEY']."""
    return [w.upper() for w in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a variable name says it holds a secret, judged on whole words."""
    words = name_words(name)
    if not words or words[-1] in _NOT_VALUE_WORDS:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(a in _KEY_QUALIFIERS and b == "KEY" for a, b in pairwise(words))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """A value that could be a real credential: long enough, varied, not a placeholder or ref."""
    value = value.strip().strip("'\"")
    if len(value) < 8 or " " in value or _PLACEHOLDER.match(value):
        return False
    if value.startswith(("/", "./", "~", "file:", "http://", "https://")) and "@" not in value:
        return False
    if not _TOKEN_CHARS.match(value) or _DOTTED_NAME.match(value):
        return False  # code (`self.password`, `get(x)`), not a credential
    has_digit = any(c.isdigit() for c in value)
    return has_digit and any(c.isalpha() for c in value) and entropy(value) >= 3.0


def find_in_text(text: str) -> Iterator[SecretHit]:
    """Every known-format secret in `text`."""
    for kind, pattern in FORMATS:
        for match in pattern.finditer(text):
            if kind == "OpenAI API key" and match.group(0).startswith("sk-ant-"):
                continue
            yield SecretHit(kind, match.start(), match.end(), match.group(0))


def check_value(name: str, value: str) -> SecretHit | None:
    """A secret in `name=value`: a known format anywhere, or a random value under a secret name."""
    value = value.strip().strip("'\"")
    for hit in find_in_text(value):
        return hit
    if not value:
        return None
    upper_words = name_words(name)
    for word, kind, pattern in _NAMED_FORMATS:
        if word in upper_words and pattern.match(value):
            return SecretHit(kind, 0, len(value), value)
    if is_secret_name(name) and looks_random(value):
        return SecretHit(f"value of secret-like {name}", 0, len(value), value)
    return None


_ASSIGN = re.compile(
    r"(?:^|[\s;&|\"'(])(?:export\s+)?([A-Za-z_][\w.-]*)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s;&|]+)"
)
_FLAG_VALUE = re.compile(r"--?([A-Za-z][\w-]*)[= ](\"[^\"]*\"|'[^']*'|[^\s;&|-][^\s;&|]*)")
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{16,})")


def find_in_command(text: str) -> Iterator[SecretHit]:
    """Secrets in a shell command or config text: known formats, `NAME=value`, `--token value`."""
    seen: set[str] = set()
    for hit in find_in_text(text):
        seen.add(hit.value)
        yield hit
    for pattern in (_ASSIGN, _FLAG_VALUE):
        for match in pattern.finditer(text):
            found = check_value(match.group(1), match.group(2))
            if found and found.value not in seen and not found.value.startswith("$"):
                seen.add(found.value)
                yield SecretHit(found.kind, match.start(2), match.end(2), found.value)
    for match in _BEARER.finditer(text):
        value = match.group(1)
        if value not in seen and not value.startswith("$") and looks_random(value):
            seen.add(value)
            yield SecretHit("bearer token", match.start(1), match.end(1), value)


def redact_text(text: str) -> str:
    """`text` with every secret `find_in_command` sees replaced by its redacted form."""
    for hit in sorted(find_in_command(text), key=lambda h: -len(h.value)):
        text = text.replace(hit.value, hit.shown)
    return text
