"""Container entrypoint of the router: `python -m dockyard.runtime.router [DIR] [--local]`.

Runs only the router; version URLs come from the spec or DOCKYARD_VERSION_URL_<NAME>. With
`--local` it first starts every version that has a `path` (what `dockyard router` does). Flags and
environment are read here, at the edge, in one order: flag > DOCKYARD_* env > spec.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dockyard.errors import DockyardError
from dockyard.spec import load_spec, runs_in_container


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockyard.runtime.router")
    parser.add_argument("root", nargs="?", default=os.environ.get("DOCKYARD_ROOT", "."))
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--local", action="store_true", help="also start the versions locally")
    args = parser.parse_args(argv)
    env = os.environ
    try:
        root = Path(args.root).resolve()
        spec = load_spec(root, runs_in_container(env))
        from dockyard.runtime.router.server import run

        return run(
            spec,
            root,
            args.host or env.get("DOCKYARD_HOST") or spec.serving.host,
            int(args.port or env.get("DOCKYARD_PORT") or spec.serving.port),
            env,
            local=args.local,
            log_level=env.get("DOCKYARD_LOG_LEVEL", "info"),
        )
    except DockyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
