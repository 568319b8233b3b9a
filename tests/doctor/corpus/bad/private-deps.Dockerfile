FROM python:3.11.9-slim-bookworm AS build
ARG PYPI_PASSWORD  # expect: DY308
ARG GIT_TOKEN  # expect: DY308
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
RUN git clone https://ci:${GIT_TOKEN}@git.acme.internal/ml/features.git /src/features  # expect: DY310
RUN printf '[global]\nindex-url = https://deploy:%s@pypi.acme.internal/simple\n' "$PYPI_PASSWORD" > /etc/pip.conf  # expect: DY309, DY310
RUN pip install --no-cache-dir --require-hashes -r /src/features/requirements.lock

FROM python:3.11.9-slim-bookworm
ARG WANDB_API_KEY  # expect: DY308
COPY --from=build /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
RUN echo "api_key = ${WANDB_API_KEY}" > /etc/wandb.conf  # expect: DY309
RUN pip install --no-cache-dir --index-url https://reader:Gx4mQ8zP2wL7@pypi.acme.internal/simple acme-eval==0.3.1  # expect: DY302
USER 10001
CMD ["python", "-m", "acme.batch_score"]
