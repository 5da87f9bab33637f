"""``hfscan hub sync``: Hub metadata per model type into the store, and tiers from it.

Wires the scanner's Hub client to the cache: each model type's record is
committed as soon as it is fetched, so an interrupted or failed sync keeps what
it got.  Later commands read the store only (``stored_hub``); nothing here runs
unless a Hub command asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from hfscan.cache.store import Store
from hfscan.errors import DataFileError
from hfscan.records import CheckResult, Job, Status
from hfscan.scanner.hub import HubClient, HubError, HubTypeInfo, HubUnreachableError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

#: Tier names, most important first (the same names the shipped priorities use).
TIERS = ("high", "medium", "low")


@dataclass(frozen=True)
class SyncReport:
    fetched: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (model type, error)
    remote_code: tuple[str, ...] = ()
    stopped: str | None = None  # why the sync stopped early (the Hub became unreachable)
    not_reached: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


def sync(
    store: Store,
    model_types: Iterable[str],
    client: HubClient,
    known_types: Iterable[str] = (),
    remote_code: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SyncReport:
    """Fetch and store Hub metadata for ``model_types`` (and remote-code types); never raises on Hub errors."""
    if client.offline():
        raise HubUnreachableError("HF_HUB_OFFLINE is set: `hub sync` needs the Hub (unset HF_HUB_OFFLINE)")
    todo = list(model_types)
    fetched: list[str] = []
    failed: list[tuple[str, str]] = []
    try:
        tiny_tests = client.tiny_test_repos()
    except HubUnreachableError as exc:
        return SyncReport(stopped=str(exc), not_reached=tuple(todo))
    except HubError as exc:
        failed.append(("(tiny test repos)", str(exc)))
        tiny_tests = {}
    for i, model_type in enumerate(todo):
        try:
            info = client.type_info(model_type, tiny_tests)
        except HubUnreachableError as exc:
            return SyncReport(tuple(fetched), tuple(failed), (), str(exc), tuple(todo[i:]))
        except HubError as exc:
            failed.append((model_type, str(exc)))
        else:
            store.put_hub(model_type, info.to_json())
            fetched.append(model_type)
        if progress:
            progress(model_type)
    found: list[str] = []
    if remote_code:
        try:
            for info in client.remote_code_types(frozenset(known_types) | frozenset(todo)):
                store.put_hub(info.model_type, info.to_json())
                found.append(info.model_type)
        except HubUnreachableError as exc:
            return SyncReport(tuple(fetched), tuple(failed), tuple(found), str(exc), ("(remote-code architectures)",))
        except HubError as exc:
            failed.append(("(remote-code architectures)", str(exc)))
    return SyncReport(tuple(fetched), tuple(failed), tuple(found))


def stored_hub(store: Store) -> dict[str, HubTypeInfo]:
    """What the last syncs stored, by model type (no network); a row of the wrong shape is reported corrupt and left out."""
    out = {}
    for mt, d in store.hub().items():
        try:
            out[mt] = HubTypeInfo.from_json({**d, "model_type": mt})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            store.hub_corrupt(mt, f"not Hub metadata hfscan can read: {type(exc).__name__}: {exc}"[:200])
    return out


def stored_hub_at(path: str | Path | None = None) -> dict[str, HubTypeInfo]:
    """Hub metadata stored by `hub sync` in the store at ``path`` (default store); empty when there is no store yet."""
    from hfscan.paths import default_store_path

    path = Path(path or default_store_path())
    if not path.exists():
        return {}
    with Store(path) as store:
        return stored_hub(store)


def load_thresholds(path: str | None = None) -> dict[str, int]:
    """Download thresholds per tier from ``hfscan/data/hub_tiers.toml`` (or ``path``)."""
    try:
        if path:
            with open(path, "rb") as f:
                data = tomllib.load(f)
            where = path
        else:
            ref = resources.files("hfscan") / "data" / "hub_tiers.toml"
            data = tomllib.loads(ref.read_text())
            where = str(ref)
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(str(path), getattr(exc, "lineno", None), str(exc)) from None
    thresholds = data.get("downloads", {})
    bad = [k for k in thresholds if k not in TIERS[:-1]] + [k for k, v in thresholds.items() if not isinstance(v, int) or v < 0]
    if bad or not thresholds:
        raise DataFileError(where, None, f"[downloads] needs non-negative integer thresholds for {', '.join(TIERS[:-1])}")
    return thresholds


def tiers_from_hub(hub: dict[str, dict], thresholds: dict[str, int]) -> dict[str, str]:
    """{model type: tier} from stored downloads: the first tier whose threshold the downloads reach, else the last."""
    ordered = sorted(((t, thresholds[t]) for t in TIERS if t in thresholds), key=lambda x: -x[1])
    out = {}
    for model_type, data in hub.items():
        if data.get("remote_code"):
            continue
        downloads = int(data.get("downloads") or 0)
        out[model_type] = next((t for t, limit in ordered if downloads >= limit), TIERS[-1])
    return out


def sync_command(model_types: tuple[str, ...], max_models: int, max_retries: int, backoff_s: float, remote_code: bool,
                 store: str | None = None) -> SyncReport:
    """``hfscan hub sync``: sync with a progress bar, print what happened; errors after storing what was fetched."""
    from rich.progress import Progress

    from hfscan.paths import default_store_path
    from hfscan.scanner.discover import discover
    from hfscan.scanner.hub import HubLimits
    from hfscan.terminal import console as plain_console

    inventory = discover()
    todo = [inventory.get(mt).model_type for mt in model_types] if model_types else list(inventory.model_types)
    client = HubClient(max_retries=max_retries, backoff_s=backoff_s, limits=HubLimits(max_models=max_models))
    console = plain_console(stderr=True)
    with Store(store or default_store_path()) as db, Progress(console=console, transient=True) as bar:
        task = bar.add_task("hub sync", total=len(todo))
        report = sync(db, todo, client, inventory.model_types, remote_code, progress=lambda mt: bar.advance(task))
    out = plain_console(soft_wrap=True)
    out.print(f"hub sync: {len(report.fetched)} of {len(todo)} model types stored from {client.api.endpoint}")
    if remote_code and report.stopped is None:
        out.print(f"remote-code architectures transformers lacks: {', '.join(report.remote_code) or 'none'}")
    for model_type, error in report.failed:
        out.print(f"failed: {model_type}: {error}")
    if report.stopped:
        raise HubUnreachableError(f"sync stopped, {len(report.not_reached)} model types not reached (what was fetched is kept): {report.stopped}")
    if report.failed:
        raise HubError(f"{len(report.failed)} Hub requests failed after retries (what was fetched is kept)")
    return report


def discover_columns(hub: dict[str, HubTypeInfo]) -> dict[str, dict[str, str]]:
    """Extra ``discover`` table columns from stored Hub metadata: downloads and the tiny checkpoint."""
    known = {mt: i for mt, i in hub.items() if not i.remote_code}
    if not known:
        return {}
    return {
        "downloads": {mt: f"{i.downloads:,}{'+' if i.count_capped else ''}" for mt, i in known.items()},
        "tiny checkpoint": {mt: i.tiny_checkpoint.pinned[:60] if i.tiny_checkpoint else "-" for mt, i in known.items()},
    }


def remote_code_lines(hub: dict[str, HubTypeInfo]) -> list[str]:
    """One line per remote-code architecture (custom code on the Hub, absent from transformers), most downloaded first."""
    archs = sorted((i for i in hub.values() if i.remote_code), key=lambda i: -i.downloads)
    return [
        f"{i.model_type}  {i.downloads:,} downloads, {i.model_count} models (e.g. {i.top[0].repo_id if i.top else '-'}); "
        "custom code, never run without --trust-remote-code"
        for i in archs
    ]


def usage_tiers(store_path: str | Path, thresholds: dict[str, int] | None = None) -> dict[str, tuple[str, ...]] | None:
    """Priority tiers ({tier: model types}, as ``harness.selection`` takes them) from stored downloads.

    None when no Hub metadata is stored: the shipped tiers apply then.
    """
    if not Path(store_path).exists():
        return None
    with Store(store_path) as store:
        hub = {mt: {"downloads": i.downloads, "remote_code": i.remote_code} for mt, i in stored_hub(store).items()}
    tiers = tiers_from_hub(hub, thresholds or load_thresholds())
    if not tiers:
        return None
    return {tier: tuple(mt for mt, t in tiers.items() if t == tier) for tier in TIERS[:-1]}


def hub_line(info: HubTypeInfo) -> str:
    """One model type's stored usage, top and tiny checkpoints, on one line."""
    top = info.top[0].repo_id if info.top else "-"
    tiny = info.tiny_checkpoint.pinned if info.tiny_checkpoint else "-"
    more = "+" if info.count_capped else ""
    return (f"{info.downloads:,}{more} downloads over {info.model_count}{more} models; top {top}; tiny checkpoint {tiny}"
            f" (fetched {info.fetched_at or '?'})")


#: The worker job function of ``hfscan run --source checkpoint``.
CHECKPOINT_JOB_FN = "hfscan.harness.checkpoint:run_job"


def fetch_checkpoint(pinned: str) -> None:
    """Download ``repo_id@sha`` (configs, tokenizer/processor files, safetensors) into the Hugging Face cache."""
    from huggingface_hub import snapshot_download

    from hfscan.harness.checkpoint import CHECKPOINT_FILES

    repo_id, _, sha = pinned.partition("@")
    snapshot_download(repo_id, revision=sha or None, allow_patterns=list(CHECKPOINT_FILES))


def checkpoint_jobs(jobs: Iterable[Job], store_path: str | Path, download: bool = False) -> tuple[list[Job], list[CheckResult]]:
    """Jobs turned to the pinned tiny checkpoint ``hub sync`` stored (fetched first when ``download``).

    A model type with no stored tiny checkpoint, or whose download fails, gets skipped results with the reason.
    """
    hub = {}
    if Path(store_path).exists():
        with Store(store_path) as store:
            hub = stored_hub(store)
    out: list[Job] = []
    skipped: list[CheckResult] = []
    fetched: dict[str, str | None] = {}  # pinned checkpoint -> download error

    def skip(job: Job, why: str) -> None:
        skipped.extend(CheckResult(job.model_type, check, Status.SKIPPED, model_class=job.model_class, task=job.task,
                                   family=job.family, message=why, source="checkpoint") for check in job.checks)

    for job in jobs:
        info = hub.get(job.model_type)
        tiny = info.tiny_checkpoint if info else None
        if tiny is None:
            skip(job, "no tiny checkpoint stored for this model type (run `hfscan hub sync`)")
            continue
        if download and tiny.pinned not in fetched:
            try:
                fetch_checkpoint(tiny.pinned)
                fetched[tiny.pinned] = None
            except Exception as exc:  # noqa: BLE001 - any Hub or file error: this type is skipped, the sweep goes on
                fetched[tiny.pinned] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        if fetched.get(tiny.pinned):
            skip(job, f"download of {tiny.pinned} failed: {fetched[tiny.pinned]}")
            continue
        out.append(replace(job, source="checkpoint", checkpoint=tiny.pinned))
    return out, skipped
