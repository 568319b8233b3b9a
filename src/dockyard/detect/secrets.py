"""Finding secrets in text: validated provider formats, URL credentials, secret-named values.

The entry point for any caller is `find_secrets(text, path)`; `scan_file(path, data)` does the
same for raw bytes (text files only, bounded). Example, refusing a build context::

    for path in context_files:
        hits = scan_file(str(path), path.read_bytes())
        if hits:
            raise BuildError(f"{path}: {hits[0].kind} {hits[0].shown} on line {hits[0].line}")

Every hit carries its kind (`"GitHub token"`), 1-based line, offsets and value; print `shown`
(redacted), never `value`. Provider formats are checked beyond their prefix (see
`dockyard.detect.tokens`); other values count only under a secret-like name, judged on whole
words (`HF_TOKEN`, `OPENAI_API_KEY` yes; `TOKENIZERS_PARALLELISM`, `MAX_NEW_TOKENS` no), and
only in config-like files, since in source code the name check mistakes code for keys. Public
material (CA bundles, certificate-only PEM files) and the test folders of installed packages
hold no secrets by definition.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise

from dockyard.detect.tokens import entropy, find_tokens

# Files that are secrets by name.
SECRET_FILE = re.compile(
    r"(^|/)(\.env(\.(?!example|sample|template|dist)\w+)?|[^/]*\.pem|[^/]*\.key|id_(rsa|dsa|"
    r"ecdsa|ed25519)|\.netrc|\.npmrc|\.pypirc|\.git-credentials|credentials(\.json)?|"
    r"service[-_]account[^/]*\.json|kaggle\.json|\.aws|\.ssh|\.docker/config\.json|"
    r"\.huggingface/token|huggingface/token|secrets?\.(json|ya?ml|toml|env))/?$"
)

SCAN_MAX = 512 * 1024  # bytes of one file read for secrets; the rest is not scanned

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
    line: int = 0  # 1-based, set by `find_secrets`; 0 where the text is a single value

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
    """Every validated provider token in `text` (no name-based guesses: safe on source code)."""
    for token in find_tokens(text):
        yield SecretHit(token.kind, token.start, token.end, text[token.start : token.end])


_URL_CREDENTIALS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://([^\s/:@'\"<>]+):([^\s/@'\"<>]+)@[A-Za-z0-9.-]+", re.IGNORECASE
)
_PLACEHOLDER_WORDS = frozenset({"password", "pass", "passwd", "pwd", "secret", "token", "pw"})


def url_credentials(text: str, strict: bool = False) -> Iterator[SecretHit]:
    """`scheme://user:password@host` with a literal password (a `$VAR` is a reference).

    `strict` (for files of installed software) also asks the password to look random, since
    docs and tests there are full of `user:pass@localhost`.
    """
    for match in _URL_CREDENTIALS.finditer(text):
        password = match.group(2)
        if password.startswith(("$", "%")) or _is_placeholder(password):
            continue
        if strict and not looks_random(password):
            continue
        yield SecretHit("credentials in a URL", match.start(2), match.end(2), password)


def _is_placeholder(value: str) -> bool:
    return (
        len(value) < 4
        or value.lower() in _PLACEHOLDER_WORDS
        or _PLACEHOLDER.match(value) is not None
    )


def check_value(name: str, value: str) -> SecretHit | None:
    """A secret in `name=value`: a known format anywhere, or a random value under a secret name."""
    value = value.strip().strip("'\"")
    for hit in (*find_in_text(value), *url_credentials(value)):
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


def find_in_command(text: str, strict: bool = False) -> Iterator[SecretHit]:
    """Secrets in a shell command or config text: formats, URLs, `NAME=value`, `--token value`."""
    seen: set[str] = set()
    for hit in (*find_in_text(text), *url_credentials(text, strict)):
        if hit.value not in seen:
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


# Files that carry settings as `NAME=value` or `name: value`, where the name check is reliable.
_CONFIG_FILE = re.compile(
    r"(^|/)(\.env[^/]*|[^/]*\.(env|cfg|ini|conf|toml|ya?ml|json|properties|sh)|\.netrc|"
    r"\.npmrc|\.pypirc|\.git-credentials|credentials|token)$"
)
# Bundles of public CA certificates: the issuers everyone trusts, never a secret.
_PUBLIC = re.compile(
    r"(^|/)(cacert\.pem|ca-bundle\.crt|ca-certificates\.crt|[^/]*\.(crt|cer|der)|"
    r"certifi/[^/]*|etc/ssl/certs/.*)$"
)
# The test suites of installed packages: junk (DY109) but their keys are fixtures, not secrets.
_PACKAGE_TESTS = re.compile(r"-packages/(.+/)?(tests?|testing)/|-packages/[^/]+/_?testing\.py$")
# Names that make a file a secret whatever it holds (`.pem`/`.key` only with a private key in it).
_BY_NAME_ONLY_WITH_KEY = re.compile(r"\.(pem|key)$")


def is_public_material(path: str, text: str) -> bool:
    """CA bundles and PEM files holding certificates only, and installed packages' test data."""
    if _PUBLIC.search(path) or _PACKAGE_TESTS.search(path):
        return True
    return "BEGIN CERTIFICATE" in text and "PRIVATE KEY" not in text


def find_secrets(text: str, path: str = "") -> list[SecretHit]:
    """Every secret in one file's text, with its line; `path` (posix) says what kind of file.

    Config-like files (`.env`, `*.yaml`, `*.json`, `*.ini`, `.netrc`, ...) are also read for
    secret-named assignments and URL credentials; any file is read for provider tokens. A
    `.env`, `.netrc`, `credentials` ... file that is not empty is a secret by name even if no
    value is recognised.
    """
    text = text[:SCAN_MAX]
    if is_public_material(path, text):
        return []
    config = _CONFIG_FILE.search(path) is not None
    hits = list(find_in_command(text, strict=True) if config else find_in_text(text))
    name = "/" + path.lstrip("/")
    by_name = SECRET_FILE.search(name) and not _BY_NAME_ONLY_WITH_KEY.search(name)
    if not hits and by_name and text.strip():
        hits.append(SecretHit("a secret file by name", 0, len(text), text.strip()))
    return [replace(h, line=text.count("\n", 0, h.start) + 1) for h in hits]


def scan_file(path: str, data: bytes) -> list[SecretHit]:
    """`find_secrets` on raw file content: text only (no NUL byte), the first `SCAN_MAX` bytes."""
    head = data[:SCAN_MAX]
    if b"\0" in head[:8192]:
        return []
    return find_secrets(head.decode("utf-8", "replace"), posixpath.normpath(path))
