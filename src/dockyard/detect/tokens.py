"""Provider token formats, each validated beyond its prefix (length, alphabet, markers, checksums).

A prefix alone is not a key: `sk-table-of-contents` in a CSS file, or `hf_xxx` in a docstring,
are not. Each `Detector` pairs a pattern with a check of the whole match.
"""

from __future__ import annotations

import math
import re
import string
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


@dataclass(frozen=True)
class Detector:
    """One token format: a pattern (group 1 is the token) and a check of the matched token.

    `needles` are literals every match contains: the pattern runs only on texts holding one.
    Python's `re` finds no literal prefix behind a leading lookbehind and tries every position,
    so this substring test is what keeps a scan of a whole image's text files fast.
    """

    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    needles: tuple[str, ...]

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The pattern's matches, skipping texts without any needle."""
        if any(needle in text for needle in self.needles):
            yield from self.pattern.finditer(text)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _varied(token: str) -> bool:
    """Random enough to be issued, not typed: rules out `hf_aaaa...` and `sk_live_0000...`."""
    body = token.split("_")[-1] if "_" in token else token
    return entropy(body) >= 3.0 and not re.search(r"(.)\1{5}", body)


def _base62(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return digits.rjust(6, "0")


def github_checksum_ok(token: str) -> bool:
    """GitHub's classic tokens end in the base62 CRC32 of the 30 random characters before it."""
    body = token[4:]
    return len(body) == 36 and _base62(zlib.crc32(body[:30].encode())) == body[30:]


def _private_key(block: str) -> bool:
    """A BEGIN/END pair around real key material, not `...` or a line of prose."""
    body = re.sub(r"-----[^-]+-----|\\n|\s|Proc-Type:.*|DEK-Info:.*", "", block)
    return len(body) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=]+", body) is not None


def _service_account(text: str) -> bool:
    return '"private_key_id"' in text and "PRIVATE KEY" in text


_EDGE = r"(?<![A-Za-z0-9_-])"
_END = r"(?![A-Za-z0-9_-])"


def _d(
    kind: str, pattern: str, needles: tuple[str, ...], valid: Callable[[str], bool] = _varied
) -> Detector:
    return Detector(kind, re.compile(pattern), valid, needles)


_GH = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
DETECTORS: tuple[Detector, ...] = (
    _d(
        "private key",
        r"(-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
        r"[\s\S]{0,8000}?-----END \2-----)",
        ("-----BEGIN ",),
        _private_key,
    ),
    _d(
        "GCP service-account key",
        r'(\{[^{}]{0,400}"type"\s*:\s*"service_account"[^{}]{0,6000}\})',
        ('"service_account"',),
        _service_account,
    ),
    _d(
        "Anthropic API key",
        _EDGE + r"(sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,100}AA)" + _END,
        ("sk-ant-",),
    ),
    _d(
        "OpenAI API key",
        _EDGE + r"(sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}|[A-Za-z0-9]{20})"
        r"T3BlbkFJ[A-Za-z0-9_-]{20,200})" + _END,
        ("T3BlbkFJ",),
    ),
    _d("GitHub token", _EDGE + r"(gh[pousr]_[A-Za-z0-9]{36})" + _END, _GH, github_checksum_ok),
    _d(
        "GitHub token",
        _EDGE + r"(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _END,
        ("github_pat_",),
    ),
    _d("Hugging Face token", _EDGE + r"(hf_[A-Za-z]{34})" + _END, ("hf_",)),
    _d("Replicate API token", _EDGE + r"(r8_[A-Za-z0-9]{37})" + _END, ("r8_",)),
    _d("Google API key", _EDGE + r"(AIza[0-9A-Za-z_-]{35})" + _END, ("AIza",)),
    _d(
        "Slack token",
        _EDGE + r"(xox[bpae]-\d{8,14}-\d{8,14}(?:-\d{8,14})?-[A-Za-z0-9]{24,34}"
        r"|xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64})" + _END,
        ("xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-"),
    ),
    _d(
        "Slack webhook",
        r"(https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24})",
        ("https://hooks.slack.com/services/",),
    ),
    _d("Stripe secret key", _EDGE + r"([sr]k_live_[A-Za-z0-9]{24,99})" + _END, ("k_live_",)),
)
_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA")
AWS_KEY_ID = re.compile(_EDGE + r"((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _END)
AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
AWS_PAIR_SPAN = 400  # a key id and its secret sit within this many characters of each other


@dataclass(frozen=True)
class TokenMatch:
    kind: str
    start: int
    end: int


def find_tokens(text: str) -> Iterator[TokenMatch]:
    """Every validated provider token in `text`, and AWS key ids that come with their secret."""
    for detector in DETECTORS:
        for match in detector.finditer(text):
            if detector.valid(match.group(1)):
                yield TokenMatch(detector.kind, match.start(1), match.end(1))
    yield from _aws_pairs(text)


def _aws_pairs(text: str) -> Iterator[TokenMatch]:
    """An AWS key id alone is an identifier; next to a 40-character secret it is a credential."""
    if not any(prefix in text for prefix in _AWS_PREFIXES):
        return
    for key in AWS_KEY_ID.finditer(text):
        if key.group(1).endswith("EXAMPLE"):
            continue
        window = text[max(0, key.start() - AWS_PAIR_SPAN) : key.end() + AWS_PAIR_SPAN]
        for secret in AWS_SECRET.finditer(window):
            value = secret.group(1)
            if _aws_secret_like(value):
                yield TokenMatch("AWS access key id", key.start(1), key.end(1))
                offset = max(0, key.start() - AWS_PAIR_SPAN)
                yield TokenMatch(
                    "AWS secret access key", offset + secret.start(1), offset + secret.end(1)
                )
                break


def _aws_secret_like(value: str) -> bool:
    kinds = sum(any(c in group for c in value) for group in _AWS_GROUPS)
    return kinds >= 3 and entropy(value) >= 4.0 and "EXAMPLEKEY" not in value


_AWS_GROUPS = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
