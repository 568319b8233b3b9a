"""One realistic, made-up credential per supported format, built with each format's own rules.

Deterministic (a seeded generator), so the same keys are planted in fixtures and images.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

_RNG = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
DIGITS = string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _pick(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def github_classic(prefix: str = "ghp_") -> str:
    body = _pick(ALNUM, 30)
    number, check = zlib.crc32(body.encode()), ""
    while number:
        number, rest = divmod(number, 62)
        check = BASE62[rest] + check
    return prefix + body + check.rjust(6, "0")


def _pem(label: str) -> str:
    body = base64.b64encode(bytes(_RNG.randrange(256) for _ in range(600))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


PRIVATE_KEY = _pem("RSA PRIVATE KEY")
AWS_KEY_ID = "AKIA" + _pick(string.ascii_uppercase + "234567", 16)
AWS_SECRET = _pick(ALNUM + "/+", 40)
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "acme-ml",
        "private_key_id": _pick("0123456789abcdef", 40),
        "private_key": _pem("PRIVATE KEY"),
        "client_email": "trainer@acme-ml.iam.gserviceaccount.com",
    },
    indent=2,
)

# kind reported -> the text of a file that holds one such credential
PLANTED: dict[str, str] = {
    "GitHub token": f"token={github_classic()}\n",
    "GitHub token (oauth)": f"GH={github_classic('gho_')}\n",
    "GitHub token (fine-grained)": f"pat: github_pat_{_pick(ALNUM, 22)}_{_pick(ALNUM, 59)}\n",
    "OpenAI API key": f"key = 'sk-proj-{_pick(URLSAFE, 74)}T3BlbkFJ{_pick(URLSAFE, 74)}'\n",
    "OpenAI API key (legacy)": f"api_key = 'sk-{_pick(ALNUM, 20)}T3BlbkFJ{_pick(ALNUM, 20)}'\n",
    "Anthropic API key": f"ANTHROPIC_API_KEY=sk-ant-api03-{_pick(URLSAFE, 93)}AA\n",
    "Hugging Face token": f"hf_token = 'hf_{_pick(string.ascii_letters, 34)}'\n",
    "AWS access key id": f"[default]\naws_access_key_id = {AWS_KEY_ID}\n"
    f"aws_secret_access_key = {AWS_SECRET}\n",
    "Slack token": f"SLACK=xoxb-{_pick(DIGITS, 12)}-{_pick(DIGITS, 13)}-{_pick(ALNUM, 24)}\n",
    "Stripe secret key": f"stripe.api_key = 'sk_live_{_pick(ALNUM, 32)}'\n",
    "GCP service-account key": SERVICE_ACCOUNT,
    "private key": PRIVATE_KEY,
}


def kind_of(label: str) -> str:
    """`GitHub token (oauth)` -> `GitHub token`: the kind the detector reports."""
    return label.split(" (")[0]
