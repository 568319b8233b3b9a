# A batch embedding job: no server, so no HEALTHCHECK is needed.
FROM python:3.11.9-slim-bookworm
RUN useradd --uid 10001 job
COPY --chown=10001:10001 requirements.lock /job/
RUN pip install --no-cache-dir --require-hashes -r /job/requirements.lock
COPY --chown=10001:10001 embed.py /job/
USER 10001
# dockyard: ignore[DY107] the tokenizer vocabulary is 2 MB and versioned with the code
COPY --chown=10001:10001 models/ /job/models/
CMD ["python", "/job/embed.py"]
