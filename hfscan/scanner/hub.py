"""Hugging Face Hub metadata per model type: usage, top checkpoints, tiny checkpoints.

Talks to the Hub endpoints that ``huggingface_hub``'s own ``HfApi`` calls
(``/api/models`` listings and model info) with its own ``httpx2`` client, so
that every request has a connect timeout and a deadline for the whole answer
(a server that never answers, or trickles a byte a second, cannot hang a
sync); rate limits (429, ``Retry-After``), server errors (5xx), timeouts and
dropped connections are retried with exponential backoff.  The endpoint,
token and offline switch come from huggingface_hub (``HF_ENDPOINT``,
``HF_TOKEN``, ``HF_HUB_OFFLINE``).  The token is sent in the request header
only, and only to the endpoint's own origin (scheme, host and port): never to a
next-page link or a redirect elsewhere; it is never part of a record.  Answers
of an unexpected shape are a :class:`HubError` (one line), never a traceback.

Everything returned is a plain frozen dataclass with ``to_json``/``from_json``,
for the cache stage to store.  This module never imports a later stage.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

from hfscan.errors import HfscanError

#: The organisation whose ``tiny-random-<ModelClass>`` repos transformers' own tests use.
TINY_TEST_AUTHOR = "hf-internal-testing"
TINY_TEST_PREFIX = "tiny-random-"
#: Properties asked for in every listing (``expand``).
EXPAND = ("downloads", "sha", "safetensors", "config", "tags", "library_name")
#: Statuses that are retried (with backoff; ``Retry-After`` honoured).
RETRIED_STATUS = (408, 429, 500, 502, 503, 504)
#: Default seconds to connect, and for a whole answer to arrive once the request is sent.
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 10.0, 60.0
#: The longest ``Retry-After`` obeyed (seconds).
MAX_RETRY_AFTER_S = 300.0


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

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, max_retries: int = 5, backoff_s: float = 1.0,
                 limits: HubLimits = HubLimits(), connect_timeout_s: float = CONNECT_TIMEOUT_S, read_timeout_s: float = READ_TIMEOUT_S):
        from huggingface_hub import HfApi

        for name, value in (("connect timeout", connect_timeout_s), ("read timeout", read_timeout_s)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise HubError(f"the {name} must be a positive number of seconds, not {value!r}")
        self.api = HfApi(endpoint=endpoint, token=token)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.limits = limits
        self.connect_timeout_s, self.read_timeout_s = float(connect_timeout_s), float(read_timeout_s)
        self._http: Any = None  # one httpx2 client, one connection at a time (so the watchdog knows its socket)
        self._stream: Any = None  # the network stream of the connection in use

    @staticmethod
    def offline() -> bool:
        from huggingface_hub import constants

        return constants.is_offline_mode()

    # -- HTTP ---------------------------------------------------------------
    def _client(self) -> Any:
        import httpx2

        if self._http is None:
            c, r = self.connect_timeout_s, self.read_timeout_s
            self._http = httpx2.Client(
                follow_redirects=True,  # httpx drops the Authorization header on a redirect to another origin
                timeout=httpx2.Timeout(connect=c, read=r, write=r, pool=c),
                limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
            )
        return self._http

    def _trace(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.complete":
            self._stream = info.get("return_value")

    def _cut(self, fired: threading.Event) -> None:
        """The answer's deadline passed: shut the connection's socket, so the blocked read returns at once."""
        fired.set()
        sock = self._stream.get_extra_info("socket") if self._stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _attempt(self, url: str, params: dict | None, headers: dict) -> Any:
        """One GET, its whole answer read within connect + read timeout; a deadline passed raises TimeoutError."""
        import httpx2

        fired = threading.Event()
        timer = threading.Timer(self.connect_timeout_s + self.read_timeout_s, self._cut, (fired,))
        timer.daemon = True
        timer.start()
        try:
            return self._client().request("GET", url, params=params, headers=headers, extensions={"trace": self._trace})
        except httpx2.TransportError:
            if fired.is_set():
                raise TimeoutError(f"no complete answer within {self.connect_timeout_s + self.read_timeout_s:g} s") from None
            raise
        finally:
            timer.cancel()

    def own_origin(self, url: str) -> bool:
        """Whether ``url`` is on the endpoint's own scheme, host and port (the only place the token goes)."""
        def origin(u: str) -> tuple:
            parts = urlsplit(u)
            return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())

        return origin(url) == origin(self.api.endpoint)

    def _get(self, url: str, params: dict | None = None) -> tuple[Any, Any]:
        """GET ``url``: (response, its JSON), retried on 408/429/5xx, timeouts and dropped connections."""
        import httpx2
        from huggingface_hub import constants
        from huggingface_hub.utils import build_hf_headers

        if constants.is_offline_mode():
            raise HubUnreachableError("HF_HUB_OFFLINE is set: the Hub cannot be reached (unset it to sync)")
        token = self.api.token if self.own_origin(url) else False  # never to another host
        headers = build_hf_headers(token=token, library_name="hfscan")
        where, wait = _strip_query(url), self.backoff_s
        for attempt in range(self.max_retries + 1):
            retries = f" after {attempt} retries" if attempt else ""
            try:
                response = self._attempt(url, params, headers)
            except TimeoutError as exc:
                error = f"{where}: timed out: {exc}"
            except httpx2.TimeoutException as exc:
                what = "no connection" if isinstance(exc, (httpx2.ConnectTimeout, httpx2.PoolTimeout)) else "no answer"
                limit = self.connect_timeout_s if what == "no connection" else self.read_timeout_s
                error = f"{where}: timed out: {what} within {limit:g} s ({type(exc).__name__})"
            except (httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                error = f"{where}: {type(exc).__name__}: {exc}"
            except (httpx2.TransportError, httpx2.InvalidURL, OSError) as exc:
                raise HubUnreachableError(f"{where}: {type(exc).__name__}: {exc}") from None
            else:
                status = response.status_code
                if status not in RETRIED_STATUS or attempt == self.max_retries:
                    return response, _json(response, where, retries)
                delay = _retry_after(response)
                time.sleep(min(MAX_RETRY_AFTER_S, delay) if delay is not None else wait)
                wait = min(wait * 2, self.backoff_s * 8)
                continue
            if attempt == self.max_retries:
                raise HubUnreachableError(error + retries)
            time.sleep(wait)
            wait = min(wait * 2, self.backoff_s * 8)
        raise AssertionError("unreachable")  # pragma: no cover

    def _list(self, limit: int, **params: Any) -> Iterator[_Listed]:
        """Models of ``/api/models`` (sorted by downloads), following the ``Link`` pages, at most ``limit``."""
        query = {"sort": "downloads", "limit": min(limit, self.limits.page_size), "expand": list(EXPAND), **params}
        url: str | None = f"{self.api.endpoint}/api/models"
        seen = 0
        while url and seen < limit:
            response, page = self._get(url, query)
            if not isinstance(page, list):
                raise HubError(f"{_strip_query(url)}: expected a list of models, got {type(page).__name__}")
            for i, item in enumerate(page):
                yield _listed(item, f"{_strip_query(url)}: model {i}")
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


def _listed(item: Any, where: str) -> _Listed:
    """One model of a listing; an item of another shape is a HubError naming what is wrong."""
    from huggingface_hub.hf_api import ModelInfo

    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise HubError(f"{where}: expected an object with a string id, got {_shape(item)}")
    try:
        info = ModelInfo(**{"siblings": None, **item})
        params = info.safetensors.total if info.safetensors else None
        config = info.config or {}
        if not isinstance(config, dict):
            raise TypeError(f"config is {_shape(config)}")
        if not isinstance(config.get("model_type", ""), str):
            raise TypeError(f"config.model_type is {_shape(config['model_type'])}")
        auto_map = config.get("auto_map")
        if auto_map is not None and not (isinstance(auto_map, (dict, list)) and all(isinstance(k, str) for k in auto_map)):
            raise TypeError(f"config.auto_map is {_shape(auto_map)}")
        if params is not None and not isinstance(params, int):
            raise TypeError(f"safetensors.total is {_shape(params)}")
        if info.sha is not None and not isinstance(info.sha, str):
            raise TypeError(f"sha is {_shape(info.sha)}")
        return _Listed(info.id, info.sha, int(info.downloads or 0), params, dict(config))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise HubError(f"{where} ({item['id']}): unexpected shape: {exc}") from None


def _shape(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


def _json(response: Any, where: str, retries: str) -> Any:
    """The JSON of a final answer; an HTTP error or a body that is not JSON is a HubError."""
    if response.status_code >= 400:
        raise HubError(f"{where}: HTTP {response.status_code}{retries if response.status_code in RETRIED_STATUS else ''}")
    try:
        return response.json()
    except ValueError:
        raise HubError(f"{where}: the answer is not JSON") from None


def _retry_after(response: Any) -> float | None:
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


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
