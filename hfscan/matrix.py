"""`hfscan matrix` and `hfscan upgrade-check`: the same sweep on several transformers (and torch) versions.

Each version set gets its own environment, created with ``uv`` under
``$HFSCAN_HOME/envs/<digest>`` and reused while it exists: the digest covers
the requirements, the Python interpreter and this hfscan's source directory,
which is installed into the environment as an editable install.  torch is
pinned to the installed version unless ``--torch`` says otherwise; uv looks for
wheels where pip does (its ``find-links``), so a local CPU wheel is used.  An
environment the user made (``--env``) is used as it is.

The sweep runs in each environment as a subprocess (``python -m hfscan run``,
the same selection and check options) writing to the one store; each run is
labelled with its version set, and carries its transformers and torch versions
as every run does.  Only creating an environment needs the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import click

import hfscan
from hfscan.cache.store import Store
from hfscan.errors import HfscanError, MissingDependencyError, UsageError
from hfscan.records import RunInfo
from hfscan.paths import default_store_path, home

#: Exit status when an environment cannot be created or used (distinct from 1: failures / regressions).
EXIT_ENV = 3
_MARKER = "hfscan-env.json"
_PROBE = (
    "import importlib.metadata as m, json\n"
    "def v(d):\n"
    "    try:\n        return m.version(d)\n    except m.PackageNotFoundError:\n        return None\n"
    "print(json.dumps({'transformers': v('transformers'), 'torch': v('torch'),"
    " 'missing': [d for d in ('click', 'jinja2', 'networkx', 'rich', 'packaging', 'transformers') if v(d) is None]}))\n"
)


class EnvError(HfscanError):
    """An environment could not be created or cannot run hfscan."""

    exit_code = EXIT_ENV


def requirement(package: str, spec: str) -> str:
    """A pip requirement for ``package`` from a version (``5.25.0``), a specifier (``>=5,<6``) or a requirement."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    text = spec.strip()
    if not text:
        raise UsageError(f"--{package}: no version given (and none is installed to pin)")
    try:
        Version(text)
        text = f"{package}=={text}"
    except InvalidVersion:
        if text[0] in "<>=!~":
            text = package + text
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(f"--{package} {spec!r}: not a version or pip requirement ({exc})") from None
    if req.name.lower().replace("_", "-") != package:
        raise UsageError(f"--{package} {spec!r}: names {req.name}, not {package}")
    return str(req)


def installed_version(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def project_root() -> Path:
    """The source directory of this hfscan (where its pyproject.toml is): what environments install."""
    root = Path(hfscan.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise UsageError(f"this hfscan ({root}) is not installed from a source directory; matrix installs its source into each environment")
    return root


def pip_find_links() -> tuple[str, ...]:
    """pip's ``find-links`` (its environment variable, else its configuration), for uv to look in too."""
    if os.environ.get("PIP_FIND_LINKS"):
        return tuple(os.environ["PIP_FIND_LINKS"].split())
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.rsplit(".", 1)[-1] == "find-links":
            return tuple(value.strip().strip("'\"").split())
    return ()


def uv_bin() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise MissingDependencyError("uv")


@dataclass(frozen=True)
class Env:
    """One environment a sweep runs in."""

    name: str  # what the tables call it: the requirements, or the path given
    python: str
    path: Path | None = None
    created: bool = False  # created by this invocation
    versions: dict = field(default_factory=dict)  # {"transformers": ..., "torch": ...} as installed there


def env_digest(requirements: tuple[str, ...], root: Path) -> str:
    data = {"requirements": sorted(requirements), "python": sys.version.split()[0],
            "interpreter": str(Path(sys.executable).resolve()), "hfscan": str(root)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _python_in(path: Path) -> Path:
    for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe", path / "python.exe"):
        if candidate.exists():
            return candidate
    raise UsageError(f"--env {path}: no Python interpreter in it (bin/python)")


def probe(python: str | Path, name: str) -> dict:
    """The transformers and torch versions of an environment; an error line when hfscan cannot run there."""
    try:
        done = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True, timeout=120)
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise EnvError(f"{name}: {python} does not run") from None
    if info["missing"]:
        raise EnvError(f"{name}: missing {', '.join(info['missing'])}; install this hfscan there: "
                       f"{python} -m pip install -e {project_root()}")
    return {"transformers": info["transformers"], "torch": info["torch"]}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _uv(args: list[str], what: str) -> None:
    done = subprocess.run([uv_bin(), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        why = next((ln for ln in lines if "error" in ln.lower() or "no solution" in ln.lower()), lines[-1] if lines else "")
        detail = " ".join(lines[lines.index(why):][:3]) if why in lines else why
        raise EnvError(f"cannot create the environment for {what}: {detail[:400]}")


def ensure_env(requirements: tuple[str, ...], find_links: tuple[str, ...] = ()) -> Env:
    """The environment of these requirements plus this hfscan: reused when it exists, else created with uv."""
    root = project_root()
    digest = env_digest(requirements, root)
    path = home() / "envs" / digest
    name = " ".join(requirements)
    with _locked(home() / "envs" / f".{digest}.lock"):
        marker = path / _MARKER
        if marker.is_file():
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError, UsageError):
                data = json.loads(marker.read_text())
                return Env(name, str(_python_in(path)), path, False, data["versions"])
        shutil.rmtree(path, ignore_errors=True)  # a partial environment a killed creation left
        links = [a for link in find_links for a in ("--find-links", link)]
        try:
            _uv(["venv", "--quiet", "--python", sys.executable, str(path)], name)
            python = _python_in(path)
            _uv(["pip", "install", "--quiet", "--python", str(python), *links, *requirements, "-e", str(root)], name)
            versions = probe(python, name)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps({"requirements": list(requirements), "hfscan": str(root), "versions": versions}))
        os.replace(tmp, marker)
    return Env(name, str(python), path, True, versions)


def user_env(path: str) -> Env:
    """An environment the user made, used as it is (this hfscan's source is put first on its path)."""
    python = _python_in(Path(path).expanduser().resolve())
    return Env(str(path), str(python), Path(path), False, probe(python, f"--env {path}"))


def installed_env() -> Env:
    """The environment hfscan runs in now."""
    versions = {"transformers": installed_version("transformers"), "torch": installed_version("torch")}
    return Env("installed", sys.executable, None, False, versions)


# -- running a sweep in an environment ------------------------------------------------------------------------
_FLAGS = ("priority", "family", "tasks", "checks", "jobs", "timeout", "mem_cap", "device", "dtype")


def sweep_args(sweep: dict, store: Path) -> list[str]:
    """The `hfscan run` arguments of the shared sweep options (paths made absolute: the child runs elsewhere)."""
    args = [*sweep.get("model_types", ())]
    for key in _FLAGS:
        if sweep.get(key) is not None:
            args += [f"--{key.replace('_', '-')}", str(sweep[key])]
    args += [f"--{flag.replace('_', '-')}" for flag in ("fresh", "reuse_failures") if sweep.get(flag)]
    if sweep.get("overrides"):
        args += ["--overrides", str(Path(sweep["overrides"]).resolve())]
    return [*args, "--store", str(store), "--missing-ok"]


def store_path(sweep: dict) -> Path:
    return Path(sweep["store"]).resolve() if sweep.get("store") else default_store_path()


def _child(cmd: list[str], cwd: Path, env: dict) -> int:
    """Run ``cmd`` with its standard output on our standard error; on Ctrl-C let it store its interruption."""
    try:
        out = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded): pass its output on afterwards
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        sys.stderr.write(done.stdout + done.stderr)
        return done.returncode
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stdin=subprocess.DEVNULL)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the child got the same SIGINT: it marks its run interrupted, then exits 130
        try:
            proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        return 130


def run_in(env: Env, sweep: dict, label: str) -> tuple[int, RunInfo | None]:
    """Run the sweep in ``env`` (its output to stderr); (exit status, the run it stored or None)."""
    store = store_path(sweep)
    with Store(store) as s:
        before = max((r.id or 0 for r in s.runs()), default=0)
    root = project_root()
    child_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}
    rc = _child([env.python, "-m", "hfscan", "run", *sweep_args(sweep, store), "--label", label], root, child_env)
    with Store(store) as s:
        runs = [r for r in s.runs() if (r.id or 0) > before and r.label == label]
    return rc, (runs[-1] if runs else None)


@dataclass(frozen=True)
class MatrixRequest:
    transformers: tuple[str, ...] = ()
    torch: str | None = None
    envs: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    sweep: dict = field(default_factory=dict)


def version_sets(request: MatrixRequest) -> list[tuple[str, ...]]:
    """The requirements of each environment to create, in the order given (duplicates once)."""
    torch = requirement("torch", request.torch or installed_version("torch") or "")
    return list(dict.fromkeys((requirement("transformers", spec), torch) for spec in request.transformers))


def matrix_command(request: MatrixRequest, fmt: str) -> int:
    """`hfscan matrix`: create (or reuse) each environment, sweep in each, print the version x category table."""
    from hfscan.reports.upgrade import print_versions, version_rows

    sets = version_sets(request)
    for path in request.envs:
        if not Path(path).is_dir():
            raise UsageError(f"--env {path}: no such directory")
    if not sets and not request.envs:
        raise UsageError("name at least one --transformers SPEC or --env PATH")
    find_links = request.find_links or pip_find_links()
    envs: list[Env] = []
    for reqs in sets:
        env = ensure_env(reqs, find_links)
        click.echo(f"hfscan matrix: {'created' if env.created else 'reusing'} {env.path} ({env.name})", err=True)
        envs.append(env)
    envs += [user_env(p) for p in request.envs]
    runs: list[RunInfo] = []
    code = 0
    for env in envs:
        click.echo(f"hfscan matrix: sweep on transformers {env.versions['transformers']}, torch {env.versions['torch']}", err=True)
        rc, run = run_in(env, request.sweep, f"matrix {env.name}")
        if rc == 130:
            return 130
        if run is None:  # hfscan could not start there, or the sweep's arguments do not fit that version
            click.echo(f"hfscan matrix: {env.name}: the sweep stored no run (exit status {rc})", err=True)
            code = max(code, 2 if rc == 2 else EXIT_ENV)
            continue
        runs.append(run)
        code = max(code, 1 if rc else 0)
    with Store(store_path(request.sweep)) as store:
        rows = version_rows(store, runs)
    print_versions(rows, fmt)
    return code


def upgrade_check_command(target: str, torch_spec: str | None, find_links: tuple[str, ...], sweep: dict,
                          fmt: str, output: str | None) -> int:
    """`hfscan upgrade-check --to SPEC`: sweep here and in the target environment, then compare."""
    from hfscan.reports.report import write_output
    from hfscan.reports.upgrade import build_upgrade, render_upgrade

    reqs = (requirement("transformers", target), requirement("torch", torch_spec or installed_version("torch") or ""))
    env = ensure_env(reqs, find_links or pip_find_links())
    click.echo(f"hfscan upgrade-check: {'created' if env.created else 'reusing'} {env.path} ({env.name})", err=True)
    results = []
    for which in (installed_env(), env):
        label = "upgrade-check installed" if which.path is None else f"upgrade-check {which.name}"
        rc, run = run_in(which, sweep, label)
        if rc == 130:
            return 130
        if run is None:
            raise EnvError(f"{which.name}: the sweep stored no run (exit status {rc})")
        results.append(run)
    with Store(store_path(sweep)) as store:
        upgrade = build_upgrade(store, results[0], results[1])
    text = render_upgrade(upgrade, fmt)
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        write_output(text, output)
    if upgrade.broken:
        names = ", ".join(c.model_type for c in upgrade.broken[:10]) + (", …" if len(upgrade.broken) > 10 else "")
        click.echo(f"hfscan upgrade-check: {len(upgrade.broken)} model type(s) pass now and fail on "
                   f"transformers {upgrade.after.run.transformers_version}: {names}", err=True)
        return 1
    return 0
