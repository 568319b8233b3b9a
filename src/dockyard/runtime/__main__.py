"""Container entrypoint: `python -m dockyard.runtime serve|worker|healthcheck [DIR]`.

Kept free of the CLI's dependencies (typer, rich): images carry only the runtime. Flags and
environment are read here, at the edge, in one order: flag > DOCKYARD_* env > spec.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError
from dockyard.runtime.entry.tls import CERT_ENV, pinned_context

if TYPE_CHECKING:
    from dockyard.runtime.server import ServeOptions
    from dockyard.spec import Spec


def _options(spec: Spec, args: argparse.Namespace) -> ServeOptions:
    from dockyard.runtime.server import ServeOptions

    env = os.environ
    return ServeOptions(
        host=args.host or env.get("DOCKYARD_HOST") or spec.serving.host,
        port=int(args.port or env.get("DOCKYARD_PORT") or spec.serving.port),
        workers=int(args.workers or env.get("DOCKYARD_WORKERS") or spec.serving.workers),
        access_log=spec.serving.access_log
        and not args.no_access_log
        and env.get("DOCKYARD_ACCESS_LOG") != "0",
        log_level=env.get("DOCKYARD_LOG_LEVEL", "info"),
    )


def healthcheck(port: int, cert: str | None = None, timeout: float = 3.0) -> int:
    """0 when /readyz answers 200 on this machine; used by HEALTHCHECK without curl.

    Only the standard library is imported on this path: the engine runs it every few seconds,
    and in an image without bytecode caches importing pydantic alone takes seconds under load.
    With `cert` (the service's TLS certificate file) it speaks HTTPS and trusts only that cert.
    """
    try:
        context = pinned_context(Path(cert).read_text(encoding="utf-8")) if cert else None
        url = f"{'https' if cert else 'http'}://127.0.0.1:{port}/readyz"
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockyard.runtime")
    parser.add_argument("command", choices=["serve", "worker", "healthcheck"])
    parser.add_argument("root", nargs="?", default=os.environ.get("DOCKYARD_ROOT", "."))
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument(
        "--worker", action="store_true", help="healthcheck a worker instead of the API"
    )
    args = parser.parse_intermixed_args(argv)  # flags may come before or after DIR
    root = Path(args.root).resolve()
    port = args.port or os.environ.get("DOCKYARD_PORT")
    if args.command == "healthcheck" and not args.worker and port:
        return healthcheck(int(port), os.environ.get(CERT_ENV))
    try:
        from dockyard.spec import load_spec, runs_in_container

        spec = load_spec(root, runs_in_container(os.environ))
        if args.command == "healthcheck":
            if args.worker:
                from dockyard.runtime import worker

                return worker.healthcheck(spec, root)
            from dockyard.runtime.entry.tls import tls_files

            tls = tls_files(spec, root, os.environ)
            return healthcheck(spec.serving.port, str(tls.cert) if tls else None)
        if args.command == "worker":
            from dockyard.runtime import worker

            return worker.main(spec, root)
        from dockyard.runtime.server import serve

        return serve(spec, root, _options(spec, args))
    except DockyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
