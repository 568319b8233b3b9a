"""API keys, scopes, per-key rate limits and the webhook allow-list (see docs/security.md)."""

from __future__ import annotations

from pydantic import Field, model_validator

from dockyard.spec.base import Section

DEFAULT_KEYS_SECRET = "dockyard_api_keys"


class Auth(Section):
    """Who may call the service, how often, and where webhooks may go.

    The keys live in a secret (one `KEY ID SCOPES [rps=N] [burst=N] [inflight=N]` per line),
    never in the spec. Off by default for `dockyard serve` on 127.0.0.1; `dockyard up` and the
    Kubernetes manifests turn it on whenever the API is published beyond loopback.
    """

    enabled: bool = Field(default=False, description="Require an API key on every non-probe route")
    keys_secret: str = Field(
        default=DEFAULT_KEYS_SECRET,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Secret holding the keys file (mounted at /run/secrets/NAME)",
    )
    rps: float = Field(default=0.0, ge=0, description="Requests per second per key; 0 = no limit")
    burst: int = Field(default=0, ge=0, description="Bucket size per key; default max(1, 2*rps)")
    max_in_flight: int = Field(default=0, ge=0, description="Concurrent requests per key; 0 = any")
    shared_limits: bool = Field(
        default=True,
        description="When the jobs queue is Redis, keep the per-key limits there so every API "
        "process and replica shares them; false: each process limits on its own",
    )
    webhook_hosts: tuple[str, ...] = Field(
        default=(), description="Hosts webhooks may call ('*.example.com' allowed); empty = any"
    )
    webhook_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback and private addresses (never link-local)",
    )
    tls_cert_secret: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Secret holding the service's TLS certificate (PEM, chain after the leaf); "
        "set with tls_key_secret to serve HTTPS; list both in `secrets`",
    )
    tls_key_secret: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Secret holding the TLS certificate's private key (PEM)",
    )
    allow_public_without_auth: bool = Field(
        default=False,
        description="Publish the stack beyond 127.0.0.1 with auth off (you have a proxy that "
        "authenticates)",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> Auth:
        if bool(self.tls_cert_secret) != bool(self.tls_key_secret):
            raise ValueError(
                "auth.tls_cert_secret and auth.tls_key_secret set together (or neither)"
            )
        return self

    @property
    def tls(self) -> bool:
        """Whether the service speaks HTTPS itself (docs/security.md: when a proxy is better)."""
        return bool(self.tls_cert_secret)
