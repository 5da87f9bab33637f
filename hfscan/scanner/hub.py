"""Hugging Face Hub metadata per model type: usage, top checkpoints, tiny checkpoints.

Talks to the Hub endpoints that ``huggingface_hub``'s own ``HfApi`` calls
(``/api/models`` listings and model info), through ``huggingface_hub``'s
``http_backoff`` so that rate limits (429, ``Retry-After``) and server errors
(5xx) are retried with exponential backoff.  The endpoint, token and offline
switch come from huggingface_hub (``HF_ENDPOINT``, ``HF_TOKEN``,
``HF_HUB_OFFLINE``).  The token is sent in the request header only; it is
never part of a record.

Everything returned is a plain frozen dataclass with ``to_json``/``from_json``,
for the cache stage to store.  This module never imports a later stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from hfscan.errors import HfscanError

#: The organisation whose ``tiny-random-<ModelClass>`` repos transformers' own tests use.
TINY_TEST_AUTHOR = "hf-internal-testing"
TINY_TEST_PREFIX = "tiny-random-"
#: Properties asked for in every listing (``expand``).
EXPAND = ("downloads", "sha", "safetensors", "config", "tags", "library_name")
#: Statuses that ``http_backoff`` retries.
RETRIED_STATUS = (408, 429, 500, 502, 503, 504)


class HubError(HfscanError):
    """The Hub answered with an error that retries did not cure."""


class HubUnreachableError(HubError):
    """No answer from the Hub (offline mode, connection refused or dropped)."""


@dataclass(frozen=True)
class Checkpoint:
    """One Hub repo, pinned to the commit it had when it was listed."""

    repo_id: str
    sha: str | None
    downloads: int = 0
    params: int | None = None  # parameter count from the repo's safetensors metadata
    source: str = ""  # why it was chosen: "top", "tiny-test" or "smallest"

    @property
    def pinned(self) -> str:
        return f"{self.repo_id}@{self.sha}" if self.sha else self.repo_id

    def to_json(self) -> dict:
        return {"repo_id": self.repo_id, "sha": self.sha, "downloads": self.downloads, "params": self.params, "source": self.source}

    @classmethod
    def from_json(cls, d: dict) -> "Checkpoint":
        return cls(d["repo_id"], d.get("sha"), int(d.get("downloads") or 0), d.get("params"), d.get("source", ""))


@dataclass(frozen=True)
class HubTypeInfo:
    """Usage of one model type on the Hub."""

    model_type: str
    model_count: int  # models listed with this type (at most the listing limit)
    downloads: int  # their downloads summed
    count_capped: bool = False  # True when the listing limit was reached (the counts are lower bounds)
    top: tuple[Checkpoint, ...] = ()  # most downloaded first
    tiny: tuple[Checkpoint, ...] = ()  # best tiny candidate first
    remote_code: bool = False  # a type transformers lacks, declared by custom code (``auto_map``)
    auto_map: tuple[str, ...] = ()  # the Auto classes the custom code declares
    fetched_at: str | None = None  # set by the store when read back (not part of ``to_json``)

    @property
    def tiny_checkpoint(self) -> Checkpoint | None:
        return self.tiny[0] if self.tiny else None

    def to_json(self) -> dict:
        return {
            "model_type": self.model_type,
            "model_count": self.model_count,
            "downloads": self.downloads,
            "count_capped": self.count_capped,
            "top": [c.to_json() for c in self.top],
            "tiny": [c.to_json() for c in self.tiny],
            "remote_code": self.remote_code,
            "auto_map": list(self.auto_map),
        }

    @classmethod
    def from_json(cls, d: dict) -> "HubTypeInfo":
        return cls(
            model_type=d["model_type"],
            model_count=int(d.get("model_count") or 0),
            downloads=int(d.get("downloads") or 0),
            count_capped=bool(d.get("count_capped")),
            top=tuple(Checkpoint.from_json(c) for c in d.get("top", [])),
            tiny=tuple(Checkpoint.from_json(c) for c in d.get("tiny", [])),
            remote_code=bool(d.get("remote_code")),
            auto_map=tuple(d.get("auto_map", [])),
            fetched_at=d.get("fetched_at"),
        )


@dataclass(frozen=True)
class HubLimits:
    """How much to ask for per model type."""

    max_models: int = 500  # models listed per type (sorted by downloads) for counts and downloads
    top: int = 5  # most-downloaded checkpoints kept
    tiny: int = 3  # tiny checkpoint candidates kept
    tiny_max_params: int = 20_000_000  # a second listing finds models at most this large
    remote_code_models: int = 1000  # custom-code models scanned for architectures transformers lacks
    page_size: int = 100


@dataclass(frozen=True)
class _Listed:
    repo_id: str
    sha: str | None
    downloads: int
    params: int | None
    config: dict = field(default_factory=dict)


class HubClient:
    """Reads model listings from the Hub with retries; one instance per sync."""

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, max_retries: int = 5, backoff_s: float = 1.0, limits: HubLimits = HubLimits()):
        from huggingface_hub import HfApi

        self.api = HfApi(endpoint=endpoint, token=token)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.limits = limits

    @staticmethod
    def offline() -> bool:
        from huggingface_hub import constants

        return constants.is_offline_mode()

    # -- HTTP ---------------------------------------------------------------
    def _get(self, url: str, params: dict | None = None) -> tuple[Any, Any]:
        """GET ``url``: (response, its JSON), retried on 408/429/5xx and dropped connections."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff

        headers = build_hf_headers(token=self.api.token, library_name="hfscan")
        try:
            response = http_backoff(
                "GET", url, params=params, headers=headers, max_retries=self.max_retries,
                base_wait_time=self.backoff_s, max_wait_time=self.backoff_s * 8,
            )
            hf_raise_for_status(response)
            return response, response.json()
        except OfflineModeIsEnabled:
            raise HubUnreachableError("HF_HUB_OFFLINE is set: the Hub cannot be reached (unset it to sync)") from None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            retried = f" after {self.max_retries} retries" if status in RETRIED_STATUS else ""
            raise HubError(f"{_strip_query(url)}: HTTP {status}{retried}") from None
        except (httpx2.TransportError, OSError) as exc:
            raise HubUnreachableError(f"{_strip_query(url)}: {type(exc).__name__}: {exc}") from None
        except ValueError:
            raise HubError(f"{_strip_query(url)}: the answer is not JSON") from None

    def _list(self, limit: int, **params: Any) -> Iterator[_Listed]:
        """Models of ``/api/models`` (sorted by downloads), following the ``Link`` pages, at most ``limit``."""
        query = {"sort": "downloads", "limit": min(limit, self.limits.page_size), "expand": list(EXPAND), **params}
        url: str | None = f"{self.api.endpoint}/api/models"
        seen = 0
        while url and seen < limit:
            response, page = self._get(url, query)
            for item in page:
                yield _listed(item)
                seen += 1
                if seen >= limit:
                    return
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    # -- per model type ---------------------------------------------------------
    def tiny_test_repos(self) -> dict[str, list[Checkpoint]]:
        """``hf-internal-testing/tiny-random-*`` repos by the model type their config declares."""
        out: dict[str, list[Checkpoint]] = {}
        for m in self._list(100_000, author=TINY_TEST_AUTHOR, search=TINY_TEST_PREFIX):
            model_type = m.config.get("model_type")
            if model_type and m.repo_id.split("/")[-1].startswith(TINY_TEST_PREFIX):
                out.setdefault(model_type, []).append(_checkpoint(m, "tiny-test"))
        return out

    def type_info(self, model_type: str, tiny_tests: dict[str, list[Checkpoint]] | None = None) -> HubTypeInfo:
        """Counts, downloads, top checkpoints and tiny candidates of one model type."""
        lim = self.limits
        listed = [m for m in self._list(lim.max_models, filter=model_type) if m.config.get("model_type", model_type) == model_type]
        small = [
            m for m in self._list(lim.tiny * 4, filter=model_type, num_parameters=f"max:{_count(lim.tiny_max_params)}")
            if m.config.get("model_type", model_type) == model_type
        ]
        by_size = {m.repo_id: m for m in listed + small if m.params is not None and m.sha}
        tests = sorted((c for c in (tiny_tests or {}).get(model_type, []) if c.params is not None and c.sha), key=_size_key)
        smallest = sorted((_checkpoint(m, "smallest") for m in by_size.values()), key=_size_key)
        tiny: dict[str, Checkpoint] = {}
        for c in tests + smallest:  # the well-known test repos come first
            tiny.setdefault(c.repo_id, c)
        return HubTypeInfo(
            model_type=model_type,
            model_count=len(listed),
            downloads=sum(m.downloads for m in listed),
            count_capped=len(listed) >= lim.max_models,
            top=tuple(_checkpoint(m, "top") for m in listed[: lim.top]),
            tiny=tuple(list(tiny.values())[: lim.tiny]),
        )

    def remote_code_types(self, known: set[str] | frozenset[str]) -> list[HubTypeInfo]:
        """Model types that only custom code (``auto_map``) provides: transformers lacks them."""
        groups: dict[str, list[_Listed]] = {}
        for m in self._list(self.limits.remote_code_models, filter="custom_code"):
            model_type = m.config.get("model_type")
            if model_type and model_type not in known and m.config.get("auto_map"):
                groups.setdefault(model_type, []).append(m)
        out = []
        for model_type, models in groups.items():
            auto_map = sorted({k for m in models for k in m.config["auto_map"]})
            out.append(HubTypeInfo(
                model_type=model_type, model_count=len(models), downloads=sum(m.downloads for m in models),
                top=tuple(_checkpoint(m, "top") for m in models[: self.limits.top]), remote_code=True, auto_map=tuple(auto_map),
            ))
        return sorted(out, key=lambda t: -t.downloads)


def _listed(item: dict) -> _Listed:
    from huggingface_hub.hf_api import ModelInfo

    info = ModelInfo(**{"siblings": None, **item})
    params = info.safetensors.total if info.safetensors else None
    return _Listed(info.id, info.sha, int(info.downloads or 0), params, dict(info.config or {}))


def _checkpoint(m: _Listed, source: str) -> Checkpoint:
    return Checkpoint(m.repo_id, m.sha, m.downloads, m.params, source)


def _size_key(c: Checkpoint) -> tuple:
    return (c.params if c.params is not None else float("inf"), -c.downloads, c.repo_id)


def _count(n: int) -> str:
    """A parameter count as the Hub's ``num_parameters`` filter writes it: 20M, 1B, 500K."""
    for suffix, unit in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]
