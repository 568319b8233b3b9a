"""Which scope each route needs, per service: the one place an auth decision is written down.

Every route of every app must appear here; a route missing from its table falls to the
table's fallback (`admin`, i.e. closed), and tests/security fails on it until it is decided.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.runtime.auth.keys import ANY

OPEN = None  # no key needed: the probes an orchestrator calls
_PARAM = re.compile(r"\{(\w+)(:path)?\}")


@dataclass(frozen=True)
class Rules:
    """Path template -> scope (None: open); exact paths are one dict lookup."""

    decisions: Mapping[str, str | None]
    fallback: str = "admin"
    _exact: dict[str, str | None] = field(init=False, repr=False, compare=False)
    _patterns: tuple[tuple[re.Pattern[str], str | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        exact = {t: s for t, s in self.decisions.items() if "{" not in t}
        patterns = tuple((_compile(t), s) for t, s in self.decisions.items() if "{" in t)
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_patterns", patterns)

    def scope_for(self, path: str) -> str | None:
        """The scope a request to `path` needs (None: open)."""
        if path in self._exact:
            return self._exact[path]
        for pattern, scope in self._patterns:
            if pattern.fullmatch(path):
                return scope
        return self.fallback

    def decided(self, template: str) -> bool:
        """Whether a route template has a decision of its own (for the route-table test)."""
        return template in self.decisions or any(
            p.fullmatch(_PARAM.sub("x", template)) for p, _ in self._patterns
        )

    def __add__(self, other: Rules) -> Rules:
        return Rules({**self.decisions, **other.decisions}, self.fallback)


def _compile(template: str) -> re.Pattern[str]:
    out, last = [], 0
    for match in _PARAM.finditer(template):
        out.append(re.escape(template[last : match.start()]))
        out.append(".+" if match.group(2) else "[^/]+")
        last = match.end()
    out.append(re.escape(template[last:]))
    return re.compile("".join(out))


PROBES = Rules({
    "/healthz": OPEN,
    "/readyz": OPEN,
    "/v2/health/live": OPEN,
    "/v2/health/ready": OPEN,
    "/v2/models/{model}/ready": OPEN,
    "/v2/models/{model}/versions/{version}/ready": OPEN,
})  # fmt: skip

STATUS = Rules({"/status": "metrics", "/status.json": "metrics"})  # the monitor's status page

SERVICE = PROBES + STATUS + Rules({
    "/predict": "predict",
    "/v2": "predict",
    "/v2/models/{model}": "predict",
    "/v2/models/{model}/infer": "predict",
    "/v2/models/{model}/versions/{version}": "predict",
    "/v2/models/{model}/versions/{version}/infer": "predict",
    "/v2/models/{model}/{rest:path}": "predict",  # unknown models: 404 once authenticated
    "/metrics": "metrics",
    "/openapi.json": ANY,
    "/docs": ANY,
    "/docs/static/{name}": ANY,
    "/feedback": "predict",  # ground truth for the caller's own predictions
    "/feedback/batch": "predict",
    # the OpenAI-compatible surface: clients send their key as OpenAI's `api_key` (a bearer)
    "/v1/models": "predict",
    "/v1/models/{model:path}": "predict",
    "/v1/chat/completions": "predict",
    "/v1/completions": "predict",
    "/v1/embeddings": "predict",
})  # fmt: skip

JOBS = Rules({
    "/jobs": "jobs",
    "/jobs/{job_id}": "jobs",
    "/jobs/{job_id}/cancel": "jobs",
    "/jobs/stats": "admin",  # counts over every caller's jobs
    "/jobs/dead/retry": "admin",  # acts on every caller's jobs
})  # fmt: skip

PIPELINE = Rules({
    "/pipeline": "predict",
    "/pipeline/jobs": "jobs",
    "/pipeline/jobs/{item}": "jobs",
    "/pipeline/stats": "admin",
    "/pipeline/dead/retry": "admin",
    "/pipeline/metrics": "metrics",
})  # fmt: skip

ROUTER = PROBES + STATUS + Rules({
    "/predict": "predict",
    "/v2/models/{name}/infer": "predict",
    "/metrics": "metrics",
    "/admin/weights": "admin",
})  # fmt: skip

# The model service carries the jobs and (locally) the pipeline routes too.
MODEL_SERVICE = SERVICE + JOBS + PIPELINE
PIPELINE_FRONT = PROBES + STATUS + PIPELINE
# prometheus-client answers every path of its port with the metrics
METRICS_PORT = Rules({"/metrics": "metrics"}, fallback="metrics")
