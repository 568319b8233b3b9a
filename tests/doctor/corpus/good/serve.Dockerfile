# syntax=docker/dockerfile:1.7
# A small CPU model server: wheels built in one stage, a slim non-root runtime in the other.
ARG PYTHON_IMAGE=python:3.11.9-slim-bookworm
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock .
RUN pip wheel --no-cache-dir --require-hashes -r requirements.lock -w /wheels

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    TOKENIZERS_PARALLELISM=false \
    MAX_NEW_TOKENS=512 \
    HF_HOME=/models
RUN useradd --uid 10001 --create-home app
COPY --from=build /wheels /wheels
RUN pip install --no-index /wheels/*.whl && rm -rf /wheels
COPY --chown=10001:10001 app/ /app/app/
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -m dockyard.runtime healthcheck
CMD ["python", "-m", "dockyard.runtime", "serve", "/app"]
