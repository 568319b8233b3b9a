# The shape `dockyard build` renders: local base, wheelhouse stage, fixed uid, runtime probe.
FROM dockyard-local/python:3.11-bookworm AS wheels
COPY wheelhouse/ /wheelhouse/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheelhouse -r /wheelhouse/requirements.txt

FROM dockyard-local/python:3.11-bookworm
RUN groupadd --gid 10001 dockyard && useradd --uid 10001 --gid 10001 --no-create-home dockyard
COPY --from=wheels /opt/venv /opt/venv
COPY --chown=10001:10001 app/ /app/
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 DOCKYARD_IN_CONTAINER=1 DOCKYARD_PORT=8080
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-m", "dockyard.runtime", "healthcheck"]
ENTRYPOINT ["python", "-m", "dockyard.runtime", "serve", "/app"]
