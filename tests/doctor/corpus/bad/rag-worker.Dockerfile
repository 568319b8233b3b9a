ARG PYTHON=3.11
FROM python:${PYTHON} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip wheel --no-cache-dir -r requirements.txt -w /wheels

FROM python:latest  # expect: DY601, DY501
RUN apt-get update \  # expect: DY101
    && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*
ARG OPENAI_API_KEY  # expect: DY308
ADD https://huggingface.co/BAAI/bge-small-en-v1.5/raw/main/tokenizer.json /app/tokenizer.json  # expect: DY603
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl
COPY id_rsa /root/.ssh/id_rsa  # expect: DY303
RUN curl -s -H "Authorization: Bearer Zk8qW2xR7pL4mN9vB3cT6yH1" https://internal.example/api/warmup  # expect: DY302
COPY pyproject.toml uv.lock ./
RUN uv sync  # expect: DY604
CMD ["python", "-m", "worker"]
