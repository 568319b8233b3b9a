"""A local Redis image for the engine tests (no registry here): the host's redis binaries and
their libraries on the local bookworm base, running as uid 999 like the official image."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BASE = "dockyard-local/python:3.11-bookworm"
TAG = "dockyard-local/redis:7"
DOCKERFILE = f"""FROM {BASE}
COPY root/ /
RUN echo 'redis:x:999:999:redis:/data:/usr/sbin/nologin' >> /etc/passwd \\
    && echo 'redis:x:999:' >> /etc/group && mkdir -p /data && chown 999:999 /data
USER 999:999
WORKDIR /data
CMD ["redis-server", "--dir", "/data"]
"""


def ensure_redis_image(tag: str = TAG) -> str:
    """Build `tag` once from the host's redis-server and redis-cli; return the tag."""
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0:
        return tag
    binaries = [shutil.which("redis-server"), shutil.which("redis-cli")]
    if not all(binaries):
        raise RuntimeError("redis-server and redis-cli must be installed on the host")
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for binary in binaries:
            assert binary is not None
            _copy(Path(binary), context / "root")
            for lib in _libraries(binary):
                _copy(lib, context / "root")
        (context / "Dockerfile").write_text(DOCKERFILE)
        subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], check=True,
                       capture_output=True)  # fmt: skip
    return tag


def _libraries(binary: str) -> list[Path]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [Path(line.split("=>")[1].split()[0]) for line in out.splitlines() if "=> /" in line]


def _copy(path: Path, root: Path) -> None:
    """Copy the file's content (symlinks resolved) to its /usr path under `root`.

    Bookworm's /lib is a link to /usr/lib; copying a real /lib directory would replace it.
    """
    if str(path).startswith("/lib64/"):
        return  # the loader is in the base image already
    usr = str(path) if str(path).startswith("/usr/") else "/usr" + str(path)
    dest = root / usr.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path.resolve(), dest)
    shutil.copymode(path.resolve(), dest)
