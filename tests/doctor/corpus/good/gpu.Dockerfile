# GPU inference: compile against the devel image, ship on the runtime image.
FROM nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04 AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip python3-dev \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/
RUN --mount=type=secret,id=hf_token \
    pip wheel --no-cache-dir -r /tmp/requirements.lock -w /wheels

FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --chown=10001:10001 server/ /app/server/
ENV HF_HOME=/models TOKENIZERS_PARALLELISM=false
USER 10001
EXPOSE 8000
HEALTHCHECK --start-period=300s CMD curl -fsS http://localhost:8000/readyz || exit 1
CMD ["python3", "-m", "server", "--model-dir", "/models"]
