"""`find_secrets`: every supported format is found, look-alikes from real packages are not."""

from __future__ import annotations

import pytest

from dockyard.detect.secrets import find_secrets, scan_file
from tests.doctor.planted import AWS_KEY_ID, PLANTED, github_classic, kind_of

CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    + "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n" * 8
    + "-----END CERTIFICATE-----\n"
)


@pytest.mark.parametrize("label", sorted(PLANTED))
def test_each_planted_format_is_found_with_its_kind_and_line(label: str) -> None:
    text = "# settings\n" + PLANTED[label]
    hits = find_secrets(text, "opt/app/settings.py")
    assert kind_of(label) in {h.kind for h in hits}
    assert all(h.line >= 2 for h in hits)
    assert all(h.value not in h.shown for h in hits)


LOOK_ALIKES = {
    "sklearn CSS class": ".sk-toggleable__content-fitted-estimator-label { color: red; }",
    "sklearn CSS id": 'html = f"<div id=sk-container-id-{counter}-estimator-repr-html>"',
    "GitHub token with a wrong checksum": "t = '" + github_classic()[:-1] + "0'",
    "transformers placeholder": 'token = "hf_94wBhPGp6KrrTH3KDchhKpRxZwd6dmHWLL"',
    "hf_ filler": 'token = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    "OpenAI-looking without the marker": "k = 'sk-4fT9xQ2mLw8ZpR7vK3nB5cY1hJ6dG0sA9wE3rT7yU2iO'",
    "AWS documentation pair": "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS key id alone": f"owner = '{AWS_KEY_ID}'",
    "AWS key id with a git sha": f"{AWS_KEY_ID} 3f786850e387550fdab836ed7e6dc881de23001b",
    "elided private key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
    "Stripe filler": "stripe.api_key = 'sk_live_000000000000000000000000'",
    "certificate": CERT,
}


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_look_alikes_are_not_secrets(name: str) -> None:
    assert find_secrets(LOOK_ALIKES[name], "site-packages/pkg/module.py") == []


@pytest.mark.parametrize(
    "path",
    [
        "opt/venv/lib/python3.11/site-packages/certifi/cacert.pem",
        "etc/ssl/certs/ca-certificates.crt",
        "opt/venv/lib/python3.11/site-packages/pkg/tests/data/server.key",
        "opt/venv/lib/python3.11/site-packages/pkg/testing/keys.py",
    ],
)
def test_public_material_and_package_tests_are_skipped(path: str) -> None:
    assert find_secrets(CERT + PLANTED["private key"], path) == []


def test_a_pem_with_only_certificates_is_not_a_secret_file() -> None:
    assert find_secrets(CERT, "app/tls/server.pem") == []
    assert [h.kind for h in find_secrets(PLANTED["private key"], "app/tls/server.pem")] == [
        "private key"
    ]


def test_names_count_in_config_files_only() -> None:
    line = "DB_PASSWORD=Zq8vR2mX7pL4wK9n\nMAX_NEW_TOKENS=512\n"
    assert [(h.kind, h.line) for h in find_secrets(line, "app/.env.prod")] == [
        ("value of secret-like DB_PASSWORD", 1)
    ]
    assert find_secrets(line, "app/model.py") == []


def test_url_credentials_in_config_files() -> None:
    conf = "[global]\nindex-url = https://deploy:Zx9qL2vW7mK4pR8t@pypi.acme.internal/simple\n"
    hits = find_secrets(conf, "etc/pip.conf")
    assert [(h.kind, h.line, h.value) for h in hits] == [
        ("credentials in a URL", 2, "Zx9qL2vW7mK4pR8t")
    ]
    assert find_secrets("url = https://user:${PASSWORD}@host/x\n", "etc/pip.conf") == []


def test_secret_file_by_name_unless_empty() -> None:
    assert [h.kind for h in find_secrets("machine x\n", "root/.netrc")] == ["a secret file by name"]
    assert find_secrets("\n", "root/.netrc") == []


def test_scan_file_reads_text_only_and_bounded() -> None:
    key = PLANTED["Hugging Face token"].encode()
    assert scan_file("app/x.py", key)
    assert scan_file("app/x.bin", b"\0\1" + key) == []
    assert scan_file("app/big.py", b"#" * (600 * 1024) + key) == []
