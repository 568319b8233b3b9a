"""One entrypoint for every long-running process: serve, drain on SIGTERM/SIGINT, exit 0.

HTTP processes (API, router, pipeline front) run through `http.serve_http`; processes without
an HTTP server (jobs worker, pipeline stage, scheduler) through `loop.run_until_signal`, and
expose Prometheus metrics with `metrics.serve_metrics`. Submodules are imported on use, so a
worker does not pay for uvicorn.
"""
