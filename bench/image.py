"""Build the calsync image on a machine without a registry, measure it and run it.

No registry is reachable here, so the base image the Dockerfile names
(``python:3.11-slim-bookworm``) is made from Debian packages: ``mmdebstrap --variant=minbase``
with python3, venv, pip and CA certificates (the machine's own CA bundle replaces the image's, in
case this network re-signs TLS), ``python``/``pip`` links in /usr/local/bin and pip's
EXTERNALLY-MANAGED marker removed; then ``docker import`` tags it. A dockerd is started when
none answers (``--iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2``,
no systemd needed) and stopped again at the end. Then the project's Dockerfile builds unchanged
(``docker build --network host``) twice: the production image (``TAG``, no extras: no kmock) and
the demo variant (``TAG-demo``, ``--build-arg CALSYNC_EXTRAS=demo``, reusing the layers above the
install). Every container runs as uid 10001 with a read-only root filesystem and a tmpfs on /tmp
(what the chart's securityContext gives a pod). The production image:

- ``calsync --help`` runs;
- kmock (the demo extra) is not installed (``pip show kmock`` fails) and ``calsync demo`` prints
  the one-line install hint (attrs and jsonpatch stay: aiohttp and kopf need them);
- HOME is writable; nothing pruned is importable; no build leftovers in /app; every module
  imports (the in-memory Kubernetes API, ``kubeemu``, fails on kmock and nothing else);
- ``calsync operator`` and ``calsync webhook`` start and serve their probes, and ``calsync
  check`` finds both healthy (bench/image_roles.py, run inside the image on the host's network,
  against an in-memory Kubernetes API this script serves on the host).

The demo variant:

- ``calsync demo --no-tty`` brings 5/5 changes into the target;
- without the tmpfs the demo fails with one line and a hint, not a traceback;
- every module imports, ``kubeemu`` included.

    python bench/image.py [--tag calsync:dev] [--rebuild-base] [--no-cache] [--no-checks]

Needs root, Debian's ``docker.io`` and ``mmdebstrap`` (``apt-get install docker.io mmdebstrap``),
and the project's venv (``pip install -e '.[demo]'``: the host serves the in-memory API). The
last line is ``build_s=<x> image_mb=<y> pip_layer_mb=<z> demo_build_s=<x> demo_image_mb=<y>
demo_pip_layer_mb=<z> checks=<passed>/<total>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = "python:3.11-slim-bookworm"
DOCKERD = ["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=overlay2"]
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
RUN_AS = ["--user", "10001:10001", "--read-only", "--tmpfs", "/tmp"]
MB = 1_000_000  # docker's units


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def daemon_answers() -> bool:
    return docker("info", check=False, timeout=30).returncode == 0


@contextmanager
def running_dockerd(workdir: Path) -> Iterator[None]:
    """Use the dockerd that answers, or start one for the duration and stop it afterwards."""
    if daemon_answers():
        yield
        return
    log = (workdir / "dockerd.log").open("wb")
    process = subprocess.Popen(DOCKERD, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not daemon_answers():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"dockerd did not start; see {workdir / 'dockerd.log'}")
            time.sleep(0.5)
        print(f"started dockerd (pid {process.pid})", flush=True)
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
        print("stopped dockerd", flush=True)


def ensure_base(workdir: Path, rebuild: bool) -> None:
    if not rebuild and docker("image", "inspect", BASE, check=False).returncode == 0:
        return
    tarball = workdir / "base.tar"
    hooks = [
        f"--customize-hook=upload {HOST_CA} /etc/ssl/certs/ca-certificates.crt",
        '--customize-hook=chroot "$1" sh -c "ln -sf /usr/bin/python3 /usr/local/bin/python'
        ' && ln -sf /usr/bin/pip3 /usr/local/bin/pip && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED"',
    ]
    began = time.perf_counter()
    subprocess.run(
        [
            "mmdebstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,python3-pip,ca-certificates",
            *hooks,
            "bookworm",
            str(tarball),
        ],
        check=True,
    )
    docker("import", str(tarball), BASE)
    print(f"base image {BASE} made with mmdebstrap in {time.perf_counter() - began:.0f} s", flush=True)


def build(tag: str, extras: str, no_cache: bool) -> float:
    began = time.perf_counter()
    options = ["--no-cache"] if no_cache else []
    options += ["--network", "host", "--build-arg", f"CALSYNC_EXTRAS={extras}"]
    done = subprocess.run(
        ["docker", "build", *options, "-t", tag, str(REPO)],
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"docker build failed (exit {done.returncode})")
    return time.perf_counter() - began


def sizes(tag: str) -> tuple[int, int]:
    """(image bytes, bytes of the layer that pip installed)."""
    image = int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout)
    history = docker("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag)
    pip = [int(line.split("\t")[0]) for line in history.stdout.splitlines() if "pip install" in line]
    return image, sum(pip)


def run(
    tag: str, *args: str, run_as: list[str] = RUN_AS, entrypoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    options = ["--entrypoint", entrypoint] if entrypoint else []
    return docker("run", "--rm", *run_as, *options, tag, *args, check=False, timeout=300)


PRUNED_CHECK = """
import sys, importlib.util as u, pathlib as p, googleapiclient as g
production = sys.argv[1] == 'production'
docs = sorted(x.name for x in (p.Path(g.__file__).parent / 'discovery_cache' / 'documents').iterdir())
assert docs == ['calendar.v3.json'], docs
for name in ('kubernetes.aio', 'werkzeug') + (('kmock',) if production else ()):
    assert u.find_spec(name) is None, name
leftovers = sorted(x.name for x in p.Path('/app').iterdir())
assert leftovers == ['crds', 'examples'], leftovers
import os; open(os.path.join(os.environ['HOME'], '.probe'), 'w').write('ok')
import pkgutil, importlib, calsync_operator, calsync_webhook
for package in (calsync_operator, calsync_webhook):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
        if module.name.endswith('.__main__'):  # that one runs the CLI
            continue
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as exc:  # the production image: only kubeemu needs kmock
            if not (production and exc.name == 'kmock' and '.kubeemu' in module.name):
                raise
print('ok')
"""


Check = tuple[str, Callable[[], str | None]]  # (name, check): None when it passes, else what went wrong


def production_checks(tag: str, kubeconfig: Path) -> Iterator[Check]:
    def help_runs() -> str | None:
        done = run(tag, "--help")
        return None if done.returncode == 0 and "operator" in done.stdout else done.stdout + done.stderr

    def no_kmock() -> str | None:
        done = run(tag, "show", "kmock", entrypoint="pip")
        return None if done.returncode != 0 else done.stdout

    def demo_hint() -> str | None:
        done = run(tag, "demo", "--no-tty")
        lines = done.stderr.splitlines()
        ok = done.returncode == 2 and len(lines) == 1 and "pip install 'calsync[demo]'" in lines[0]
        return None if ok else f"exit {done.returncode}: {done.stdout[-2000:]}{done.stderr[-3000:]}"

    def lean_and_importable() -> str | None:
        done = run(tag, "-c", PRUNED_CHECK, "production", entrypoint="python")
        return None if done.returncode == 0 and done.stdout.strip() == "ok" else done.stdout + done.stderr

    def roles_start() -> str | None:
        mounts = ["-v", f"{REPO / 'bench' / 'image_roles.py'}:/bench/image_roles.py:ro"]
        mounts += ["-v", f"{kubeconfig}:/kube/config:ro", "--network", "host"]
        script = ["/bench/image_roles.py", "/kube/config"]
        done = run(tag, *script, run_as=[*RUN_AS, *mounts], entrypoint="python")
        print(done.stdout, end="", flush=True)
        return None if done.returncode == 0 else done.stdout[-3000:] + done.stderr[-3000:]

    yield "production: calsync --help", help_runs
    yield "production: no kmock (pip show kmock fails)", no_kmock
    yield "production: calsync demo prints the one-line install hint", demo_hint
    yield "production: pruned, no leftovers, HOME writable, all but kubeemu import", lean_and_importable
    yield "production: operator, webhook and check start", roles_start


def demo_checks(tag: str) -> Iterator[Check]:
    def demo_read_only() -> str | None:
        done = run(tag, "demo", "--no-tty", "--duration", "30")
        ok = done.returncode == 0 and "5/5 changes arrived" in done.stdout
        return None if ok else done.stdout[-3000:] + done.stderr[-3000:]

    def demo_without_tmp() -> str | None:
        done = run(tag, "demo", "--no-tty", run_as=["--user", "10001:10001", "--read-only"])
        lines = done.stderr.splitlines()
        ok = done.returncode == 2 and len(lines) == 2 and lines[0].startswith("calsync: error: ")
        return None if ok else f"exit {done.returncode}: {done.stderr[-3000:]}"

    def importable() -> str | None:
        done = run(tag, "-c", PRUNED_CHECK, "demo", entrypoint="python")
        return None if done.returncode == 0 and done.stdout.strip() == "ok" else done.stdout + done.stderr

    yield "demo: calsync demo 5/5 as uid 10001, read-only root, tmpfs /tmp", demo_read_only
    yield "demo: without a writable /tmp: one line and a hint", demo_without_tmp
    yield "demo: pruned, no leftovers, every module imports", importable


@contextmanager
def kube_on_host(workdir: Path) -> Iterator[Path]:
    """An in-memory Kubernetes API on the host's loopback, and a kubeconfig uid 10001 can read."""
    from calsync_operator.kubeemu import ThreadedKubeEmulator  # the demo extra, in the host's venv

    shared = workdir / "kube"
    shared.mkdir()
    shared.chmod(0o755)
    with ThreadedKubeEmulator() as kube:
        path = kube.write_kubeconfig(shared / "config")
        path.chmod(0o644)
        yield path


def measure(tag: str, extras: str, no_cache: bool) -> tuple[float, int, int]:
    seconds = build(tag, extras, no_cache)
    image, pip_layer = sizes(tag)
    sized = f"image {image / MB:.0f} MB, pip layer {pip_layer / MB:.0f} MB"
    print(f"built {tag} in {seconds:.0f} s: {sized}", flush=True)
    return seconds, image, pip_layer


def figures(prefix: str, measured: tuple[float, int, int]) -> str:
    seconds, image, pip_layer = measured
    sized = f"{prefix}image_mb={image / MB:.0f} {prefix}pip_layer_mb={pip_layer / MB:.0f}"
    return f"{prefix}build_s={seconds:.0f} {sized}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default="calsync:dev", help="tag of the built image (default calsync:dev)")
    parser.add_argument("--rebuild-base", action="store_true", help=f"make {BASE} again with mmdebstrap")
    parser.add_argument("--no-checks", action="store_true", help="build and measure only")
    parser.add_argument("--no-cache", action="store_true", help="build every layer anew (for the build time)")
    args = parser.parse_args()
    missing = [tool for tool in ("docker", "dockerd", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        print(f"missing: {', '.join(missing)}; hint: apt-get install docker.io mmdebstrap", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("run as root (dockerd and mmdebstrap need it)", file=sys.stderr)
        return 2
    demo_tag = f"{args.tag}-demo"
    results: list[tuple[str, str | None]] = []
    with tempfile.TemporaryDirectory(prefix="calsync-image-") as tmp, running_dockerd(Path(tmp)):
        ensure_base(Path(tmp), args.rebuild_base)
        production = measure(args.tag, "", args.no_cache)
        demo = measure(demo_tag, "demo", no_cache=False)  # the layers above the install are cached
        if not args.no_checks:
            with kube_on_host(Path(tmp)) as kubeconfig:
                chosen = [*production_checks(args.tag, kubeconfig), *demo_checks(demo_tag)]
                results = [(name, check()) for name, check in chosen]
    for name, problem in results:
        print(f"{'ok  ' if problem is None else 'FAIL'} {name}" + ("" if problem is None else f"\n{problem}"))
    passed = sum(problem is None for _, problem in results)
    print(f"{figures('', production)} {figures('demo_', demo)} checks={passed}/{len(results)}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
