"""`dockyard push|sbom|keygen|sign|verify|save|load|releases`: images leave this machine.

The I/O edge of shipping: reads flags and the environment (registry, signing key, actor),
talks to the engine and the registry through `dockyard.image`, and appends to the release
record of `dockyard.deploy.releases`. After a push, every step names the image by digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console

import dockyard
from dockyard.deploy import ci as ci_docs
from dockyard.deploy import releases
from dockyard.errors import EngineError, ReleaseError
from dockyard.image import distribution, sbom, signing
from dockyard.image.builder import BUILD_DIR
from dockyard.image.engine import Engine
from dockyard.image.layers import Hashing, copy_hashed
from dockyard.image.lock import LOCK_FILE, Lock
from dockyard.image.multiarch.inventory import variant_sbom
from dockyard.image.multiarch.publish import with_variants
from dockyard.image.multiarch.variants import built_variants
from dockyard.image.oci import Artifact, Registry, pinned, sha256
from dockyard.image.resolve import read_lock
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
ImageOpt = Annotated[
    str | None, typer.Option("--image", help="Local image to ship (default NAME:VERSION)")
]
KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", envvar="DOCKYARD_SIGNING_KEY", help="Ed25519 private key (PEM) to sign"),
]
RecordOpt = Annotated[
    Path | None,
    typer.Option(
        "--record",
        envvar="DOCKYARD_RECORD",
        help="Release record (default $DOCKYARD_STATE or DIR/.dockyard, then releases.json)",
    ),
]
SBOM_ANNOTATIONS = {"org.opencontainers.image.title": "sbom.cdx.json"}


def register(app: typer.Typer) -> None:
    commands = (push, sbom_command, keygen, sign, verify, save, load, releases_command, ci)
    for command in commands:
        name = command.__name__.removesuffix("_command")
        app.command(name)(command)


def push(
    root: Dir = Path("."),
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry", envvar="DOCKYARD_REGISTRY", help="HOST[:PORT]/NAMESPACE to push to"
        ),
    ] = None,
    image: ImageOpt = None,
    key: KeyOpt = None,
    record: RecordOpt = None,
) -> None:
    """Push the built image; print and record its digest, attach its SBOM (and a signature)."""
    console = _console()
    root = root.resolve()
    spec = load_spec(root)
    if not registry:
        raise ReleaseError(
            "no registry: pass --registry HOST[:PORT]/NAMESPACE or DOCKYARD_REGISTRY"
        )
    local = image or _local(spec)
    engine = Engine.connect()
    repository = f"{registry.rstrip('/')}/{spec.project.name}"
    # Everything that can fail before the push does: nothing is pushed half-described.
    lock = read_lock(root)
    bom = _sbom(engine, local, spec, root, lock)
    # The SBOM's digest is signed with the rest: a swapped SBOM no longer matches the image.
    provenance = {**_provenance(engine, local, root, lock), "sbom-sha256": sha256(bom.encode())}
    variants = built_variants(spec, distribution.image_id(engine, local), root / BUILD_DIR)
    # the other platforms' manifests are signed with the rest (the index names them too)
    provenance.update({f"{v.platform.name}-manifest": v.manifest.digest for v in variants})
    variant_boms = [
        (v, variant_sbom(v, spec.project.name, spec.project.version, lock))
        for v in variants
        if lock is not None
    ]
    provenance.update(
        {f"{v.platform.name}-sbom-sha256": sha256(b.encode()) for v, b in variant_boms}
    )
    if key is not None:
        signing.check_key(key)
    console.print(f"[bold]pushing[/] {local} to {repository}:{spec.project.version}")
    pushed = distribution.push(engine, local, repository, spec.project.version, lambda _: None)
    store = Registry(repository)
    try:
        if variants:
            console.print(f"pushing {', '.join(v.platform.name for v in variants)} and the index")
        pushed = with_variants(store, pushed, variants)
        path = releases.record_path(root, record, os.environ)
        stored = releases.store_sbom(path, pushed.digest, bom)
        store.attach(
            pushed.digest,
            "sbom",
            Artifact(sbom.MEDIA_TYPE, sbom.MEDIA_TYPE, bom.encode(), SBOM_ANNOTATIONS),
        )
        for variant, variant_bom in variant_boms:  # each platform's own packages and hashes
            store.attach(
                variant.manifest.digest,
                "sbom",
                Artifact(sbom.MEDIA_TYPE, sbom.MEDIA_TYPE, variant_bom.encode(), SBOM_ANNOTATIONS),
            )
        if key is not None:
            store.attach(
                pushed.digest, "sig", signing.sign(key, repository, pushed.digest, provenance)
            )
    finally:
        store.close()
    entry = releases.Image(
        repository=repository,
        tag=pushed.tag,
        digest=pushed.digest,
        pushed_at=releases.now(),
        pushed_by=releases.actor(os.environ),
        provenance=provenance,
        sbom=stored,
        signed=key is not None,
    )
    releases.save(path, releases.load(path).add_image(entry))
    console.print(f"sbom {path.parent / stored}; signed: {'yes' if key else 'no'}")
    typer.echo(pushed.reference)


def sbom_command(
    root: Dir = Path("."),
    image: ImageOpt = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout)")
    ] = None,
) -> None:
    """Write the CycloneDX SBOM of the built image (installed packages + the lock's hashes)."""
    root = root.resolve()
    spec = load_spec(root)
    text = _sbom(Engine.connect(), image or _local(spec), spec, root, read_lock(root))
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text)


def keygen(
    prefix: Annotated[Path, typer.Argument(help="Writes PREFIX.key (0600) and PREFIX.pub")],
) -> None:
    """Make an Ed25519 key pair for signing images; keep the .key in your CI's secrets."""
    private, public = prefix.with_suffix(".key"), prefix.with_suffix(".pub")
    signing.generate_keys(private, public)
    typer.echo(f"{private} (private, 0600)\n{public} (public: give it to `dockyard verify`)")


def sign(
    reference: Annotated[str, typer.Argument(help="REPOSITORY@sha256:DIGEST")],
    key: Annotated[Path, typer.Option("--key", envvar="DOCKYARD_SIGNING_KEY", help="Private key")],
) -> None:
    """Sign a pushed image by digest and attach the signature in its registry."""
    repository, digest = distribution.by_digest(reference)
    store = Registry(repository)
    try:
        store.attach(digest, "sig", signing.sign(key, repository, digest, {}))
    finally:
        store.close()
    typer.echo(f"signed {reference}")


def verify(
    reference: Annotated[str, typer.Argument(help="REPOSITORY@sha256:DIGEST")],
    key: Annotated[
        Path, typer.Option("--key", envvar="DOCKYARD_VERIFY_KEY", help="Public key (PEM)")
    ],
) -> None:
    """Check the image's signature with KEY and that its SBOM is attached; exit 9 if not."""
    repository, digest = distribution.by_digest(reference)
    store = Registry(repository)
    try:
        body, annotations = _attached(store, digest, "sig")
        signed = signing.verify(key, repository, digest, body, annotations)
        bom, _ = _attached(store, digest, "sbom")
        # each other platform's manifest (an index's) carries its own SBOM, signed by hash
        platforms = [n.removesuffix("-sbom-sha256") for n in signed if n.endswith("-sbom-sha256")]
        platform_boms = {p: _attached(store, signed[f"{p}-manifest"], "sbom")[0] for p in platforms}
    finally:
        store.close()
    if signed.get("sbom-sha256") not in (None, sha256(bom)):
        raise ReleaseError(f"the SBOM attached to {digest} is not the one that was signed")
    for platform, platform_bom in platform_boms.items():
        if signed[f"{platform}-sbom-sha256"] != sha256(platform_bom):
            raise ReleaseError(
                f"the SBOM attached to the {platform} image is not the one that was signed"
            )
    typer.echo(
        f"verified {reference}: signature ok, sbom with "
        f"{len(sbom.components(bom.decode()))} components"
    )
    for name, value in sorted(signed.items()):
        typer.echo(f"  {name}: {value}")


def save(
    root: Dir = Path("."),
    image: ImageOpt = None,
    out: Annotated[Path, typer.Option("--output", "-o", help="Bundle file to write")] = Path(
        "image.tar"
    ),
) -> None:
    """Write the image, its SBOM and their digests to one file, for air-gapped hosts."""
    root = root.resolve()
    spec = load_spec(root)
    local = image or _local(spec)
    engine = Engine.connect()
    bom = _sbom(engine, local, spec, root, read_lock(root)).encode()
    with tempfile.TemporaryFile() as saved:
        digest = _save_hashed(engine, local, saved)
        manifest = {
            "image": local,
            "image_id": distribution.image_id(engine, local),
            "image_sha256": digest,
            "sbom_sha256": hashlib.sha256(bom).hexdigest(),
        }
        with tarfile.open(out, "w") as bundle:
            _add(bundle, "manifest.json", json.dumps(manifest, indent=2).encode())
            _add(bundle, "sbom.cdx.json", bom)
            saved.seek(0, os.SEEK_END)
            info = tarfile.TarInfo("image.tar")
            info.size = saved.tell()
            saved.seek(0)
            bundle.addfile(info, saved)
    typer.echo(f"{out}: {local} ({manifest['image_id']})")


def load(
    bundle: Annotated[Path, typer.Argument(help="A file written by `dockyard save`")],
) -> None:
    """Load a bundle after checking every member's digest, then check the loaded image's id."""
    with tarfile.open(bundle) as archive:
        manifest = json.loads(_member(archive, "manifest.json").read())
        bom = _member(archive, "sbom.cdx.json").read()
        if hashlib.sha256(bom).hexdigest() != manifest["sbom_sha256"]:
            raise ReleaseError(f"{bundle}: the SBOM does not match its recorded digest")
        image = _member(archive, "image.tar")
        with tempfile.TemporaryFile() as copy:
            if copy_hashed(image, copy) != manifest["image_sha256"]:
                raise ReleaseError(f"{bundle}: the image does not match its recorded digest")
            copy.seek(0)
            engine = Engine.connect()
            distribution.load(engine, copy)
    if distribution.image_id(engine, manifest["image"]) != manifest["image_id"]:
        raise ReleaseError(f"{manifest['image']} loaded with another id than was saved")
    typer.echo(f"loaded {manifest['image']} ({manifest['image_id']}), digests verified")


def releases_command(
    root: Dir = Path("."),
    record: RecordOpt = None,
    merge: Annotated[
        Path | None,
        typer.Option(
            "--merge",
            help="Add the images of another record (e.g. the push job's CI artifact) first",
        ),
    ] = None,
) -> None:
    """List pushed images and what each environment runs."""
    root = root.resolve()
    path = releases.record_path(root, record, os.environ)
    found = releases.load(path)
    if merge is not None:
        found = releases.merge(path, found, merge)
        releases.save(path, found)
    for image in sorted(found.images.values(), key=lambda i: i.pushed_at):
        flags = "signed" if image.signed else "unsigned"
        typer.echo(f"{image.pushed_at}  {image.reference}  {flags}  by {image.pushed_by}")
    for env, events in sorted(found.environments.items()):
        last = events[-1]
        typer.echo(f"{env}: {last.digest} ({last.action} {last.at} by {last.by})")


def _sbom(engine: Engine, local: str, spec: Spec, root: Path, lock: Lock | None) -> str:
    found = engine.image(local)
    if found is None:
        raise EngineError(f"no image {local} here: run `dockyard build {root}` first")
    packages = sbom.installed(engine, local)
    project = spec.project
    return sbom.render(
        project.name,
        project.version,
        str(found["Id"]),
        str(found["Created"]),
        packages,
        lock,
    )


def _provenance(engine: Engine, local: str, root: Path, lock: Lock | None) -> dict[str, str]:
    """Spec hash, lock hash, base digest, source commit and build time of the image."""
    found = engine.image(local) or {}
    labels = dict((found.get("Config") or {}).get("Labels") or {})
    lock_file = root / LOCK_FILE
    named = labels.get("dev.dockyard.base") or (lock.base if lock and lock.base else "") or ""
    base = engine.image(named) if named else None
    return {
        "spec-sha256": labels.get("dev.dockyard.spec-sha256", ""),
        "lock-sha256": labels.get("dev.dockyard.lock-sha256")
        or hashlib.sha256(lock_file.read_bytes()).hexdigest()
        if lock_file.is_file()
        else "",
        # By digest when the base is pinned or came from a registry; else the tag (docs/ship.md).
        "base": pinned(named, list((base or {}).get("RepoDigests") or [])),
        "base-id": str((base or {}).get("Id", "")),
        "revision": labels.get("org.opencontainers.image.revision", ""),
        "created": labels.get("org.opencontainers.image.created", str(found.get("Created", ""))),
        "image-id": str(found.get("Id", "")),
    }


def _attached(store: Registry, digest: str, kind: str) -> tuple[bytes, dict[str, str]]:
    try:
        return store.attached(digest, kind)
    except EngineError as exc:
        raise ReleaseError(f"no {kind} attached to {digest}: {exc}") from exc


def _save_hashed(engine: Engine, ref: str, out: IO[bytes]) -> str:
    hashing = Hashing(out)
    distribution.save(engine, ref, hashing)
    return hashing.digest.hexdigest()


def _add(bundle: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    bundle.addfile(info, io.BytesIO(data))


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        found = archive.extractfile(name)
    except KeyError:
        found = None
    if found is None:
        raise ReleaseError(
            f"{_bundle_name(archive)}: no {name}; not a bundle written by `dockyard save`"
        )
    return found


def _local(spec: Spec) -> str:
    return f"{spec.project.name}:{spec.project.version}"


def _console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def _bundle_name(archive: tarfile.TarFile) -> str:
    name = archive.name
    return name.decode() if isinstance(name, bytes) else str(name)


def ci(
    root: Dir = Path("."),
    provider: Annotated[str, typer.Option(help="github or gitlab")] = "github",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Default .github/workflows/dockyard.yml or .gitlab-ci.yml"
        ),
    ] = None,
    public_key: Annotated[
        str, typer.Option(help="Path of the signing public key in the repository")
    ] = "dockyard.pub",
    install: Annotated[str, typer.Option(help="pip requirement that installs Dockyard in CI")] = (
        f"dockyard=={dockyard.__version__}"
    ),
) -> None:
    """Write a CI pipeline: doctor, build, gate, push by digest, staging, approval, prod."""
    if provider not in ("github", "gitlab"):
        raise ReleaseError(f"--provider {provider!r}: use github or gitlab")
    root = root.resolve()
    load_spec(root)
    here = Path.cwd().resolve()
    try:
        project = root.relative_to(here).as_posix() or "."
    except ValueError as exc:
        raise ReleaseError(f"run `dockyard ci` from the repository that holds {root}") from exc
    pipeline = ci_docs.Pipeline(project=project, install=install, public_key=public_key)
    doc = ci_docs.github(pipeline) if provider == "github" else ci_docs.gitlab(pipeline)
    default = Path(".github/workflows/dockyard.yml" if provider == "github" else ".gitlab-ci.yml")
    path = output or default
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ci_docs.to_yaml(doc))
    typer.echo(str(path))
