"""A real HTTP server on 127.0.0.1 that answers the Hub routes huggingface_hub's client calls.

Routes (shapes read from huggingface_hub 2.4's ``hf_api.py`` and ``file_download.py``):

* ``GET /api/models``: listing with ``filter`` (tags), ``author``, ``search``,
  ``num_parameters=max:N``, ``sort=downloads``, ``limit`` (page size), ``expand``;
  pages are chained with a ``Link: <...>; rel="next"`` header.
* ``GET /api/models/<org>/<name>[/revision/<rev>]``: model info with ``sha`` and ``siblings``.
* ``GET /api/models/<org>/<name>/tree/<rev>``: the file list ``snapshot_download`` reads.
* ``HEAD``/``GET /<org>/<name>/resolve/<rev>/<file>``: file content with ``X-Repo-Commit``,
  ``ETag`` and ``Content-Length``.
* ``GET /api/agent-harnesses``: the (empty) registry huggingface_hub fetches once a day.

Repos are real folders written by ``save_pretrained``; each gets a commit sha from its
content.  ``fail(pattern, status, times)`` answers matching requests with an error status,
``drop_after(n)`` closes every connection after ``n`` more ``/api/models`` requests without answering,
``answer(pattern, obj)`` answers matching requests with ``obj`` as JSON (shapes the Hub never sends),
``stall("silent")`` leaves ``/api/models`` requests unanswered and ``stall("trickle")`` sends their
answers a byte every ``trickle_s`` seconds; ``next_base`` sends next-page links to another server.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}


@dataclass
class Repo:
    repo_id: str
    files: dict[str, bytes]
    downloads: int
    tags: list[str]
    sha: str = ""
    config: dict = field(default_factory=dict)
    params: int | None = None

    def info(self, expand: list[str] | None = None) -> dict:
        full = {
            "id": self.repo_id,
            "modelId": self.repo_id,
            "author": self.repo_id.split("/")[0],
            "sha": self.sha,
            "downloads": self.downloads,
            "likes": 0,
            "private": False,
            "gated": False,
            "tags": self.tags,
            "library_name": "transformers",
            "lastModified": "2025-01-01T00:00:00.000Z",
            "createdAt": "2025-01-01T00:00:00.000Z",
            # the Hub returns a subset of config.json
            "config": {k: self.config[k] for k in ("architectures", "model_type", "auto_map") if k in self.config},
            "siblings": [{"rfilename": name} for name in sorted(self.files)],
        }
        if self.params is not None:
            full["safetensors"] = {"parameters": {"F32": self.params}, "total": self.params}
        if expand:
            return {"id": self.repo_id, **{k: full[k] for k in expand if k in full}}
        return full


def _safetensors_params(data: bytes) -> int:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    total = 0
    for name, t in header.items():
        if name != "__metadata__":
            count = 1
            for d in t["shape"]:
                count *= d
            total += count
    return total


class FakeHub:
    """The repos and faults the handler serves."""

    page_size = 2  # small, so listings span several pages

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path with query, headers)
        self._faults: list[list] = []  # [regex, status, times left]
        self._drop_after: int | None = None
        self._answers: list[tuple[re.Pattern, object]] = []
        self.stalling: str | None = None
        self.trickle_s = 1.0
        self.next_base: str | None = None  # where next-page links point (default: this server)
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- content ------------------------------------------------------------
    def add_folder(self, repo_id: str, folder: str | Path, downloads: int = 0, tags: tuple[str, ...] = ()) -> Repo:
        """Publish a folder (e.g. written by ``save_pretrained``) as a repo."""
        folder = Path(folder)
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_files(repo_id, files, downloads, tags)

    def add_files(self, repo_id: str, files: dict[str, bytes], downloads: int = 0, tags: tuple[str, ...] = ()) -> Repo:
        config = json.loads(files["config.json"]) if "config.json" in files else {}
        all_tags = ["transformers", *([config["model_type"]] if "model_type" in config else []), *tags]
        if "auto_map" in config:
            all_tags.append("custom_code")
        digest = hashlib.sha1()
        for name, data in sorted(files.items()):
            digest.update(name.encode() + b"\0" + data)
        params = _safetensors_params(files["model.safetensors"]) if "model.safetensors" in files else None
        repo = Repo(repo_id, files, downloads, all_tags, digest.hexdigest(), config, params)
        self.repos[repo_id] = repo
        return repo

    # -- faults -------------------------------------------------------------
    def fail(self, pattern: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path+query matches ``pattern`` with ``status``."""
        self._faults.append([re.compile(pattern), status, times])

    def answer(self, pattern: str, obj: object) -> None:
        """Answer every request whose path+query matches ``pattern`` with ``obj`` as JSON."""
        self._answers.append((re.compile(pattern), obj))

    def stall(self, how: str | None) -> None:
        """``silent``: never answer ``/api/models``; ``trickle``: answer it a byte every ``trickle_s`` seconds."""
        self.stalling = how

    def drop_after(self, n: int) -> None:
        """After ``n`` more API requests, close every connection without an answer."""
        self._drop_after = n

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopped.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- listing ------------------------------------------------------------
    def listing(self, q: dict[str, list[str]]) -> list[Repo]:
        repos = list(self.repos.values())
        for tag in q.get("filter", []):
            repos = [r for r in repos if tag in r.tags]
        if "author" in q:
            repos = [r for r in repos if r.repo_id.split("/")[0] == q["author"][0]]
        if "search" in q:
            repos = [r for r in repos if q["search"][0].lower() in r.repo_id.lower()]
        if "num_parameters" in q:
            for part in q["num_parameters"][0].split(","):
                kind, value = part.split(":")
                m = re.fullmatch(r"([\d.]+)([KMB]?)", value)
                bound = float(m.group(1)) * _UNITS[m.group(2)]
                keep = (lambda p: p <= bound) if kind == "max" else (lambda p: p >= bound)
                repos = [r for r in repos if r.params is not None and keep(r.params)]
        if q.get("sort", [""])[0] == "downloads":
            repos.sort(key=lambda r: -r.downloads)
        return repos


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _not_found(self, what: str) -> None:
        self._json({"error": f"{what} not found"}, 404, {"X-Error-Code": "RepoNotFound"})

    def _intercepted(self) -> bool:
        hub = self.hub
        with hub.lock:
            hub.requests.append((self.command, self.path, dict(self.headers)))
            if hub._drop_after is not None and self.path.startswith("/api/models"):
                if hub._drop_after <= 0:
                    self.close_connection = True
                    return True
                hub._drop_after -= 1
            for fault in hub._faults:
                if fault[2] > 0 and fault[0].search(self.path):
                    fault[2] -= 1
                    headers = {"Retry-After": "0"} if fault[1] == 429 else {}
                    self._json({"error": "injected"}, fault[1], headers)
                    return True
            answer = next((obj for pattern, obj in hub._answers if pattern.search(self.path)), None)
            stalling = hub.stalling if self.path.startswith("/api/models") else None
        if answer is not None:
            self._json(answer)
            return True
        if stalling == "silent":
            hub.stopped.wait()
            self.close_connection = True
            return True
        if stalling == "trickle":
            body = b"[]"
            raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            for i in range(len(raw)):
                if hub.stopped.wait(hub.trickle_s):
                    break
                try:
                    self.wfile.write(raw[i : i + 1])
                    self.wfile.flush()
                except OSError:
                    break
            self.close_connection = True
            return True
        return False

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self._intercepted():
            return
        url = urlparse(self.path)
        q = parse_qs(url.query)
        path = url.path
        if path == "/api/models":
            return self._list(q)
        if path == "/api/agent-harnesses":  # huggingface_hub's best-effort agent registry
            return self._json({"standardEnvVars": [], "harnesses": {}})
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        if m:
            repo = self.hub.repos.get(m.group(1))
            return self._json(repo.info(q.get("expand"))) if repo else self._not_found(m.group(1))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)
        if m:
            repo = self.hub.repos.get(m.group(1))
            if not repo:
                return self._not_found(m.group(1))
            entries = [
                {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for name, data in sorted(repo.files.items())
            ]
            return self._json(entries)
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            repo = self.hub.repos.get(m.group(1))
            data = repo.files.get(m.group(3)) if repo else None
            if data is None:
                return self._json({"error": "entry not found"}, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha if repo else ""})
            etag = hashlib.sha256(data).hexdigest()
            return self._send(200, data, {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"'}, "application/octet-stream")
        self._not_found(path)

    def _list(self, q: dict[str, list[str]]) -> None:
        repos = self.hub.listing(q)
        size = min(int(q.get("limit", ["1000"])[0]), self.hub.page_size)
        start = int(q.get("cursor", ["0"])[0])
        page = repos[start : start + size]
        expand = q.get("expand")
        headers = {}
        if start + size < len(repos):
            nxt = {**{k: v for k, v in q.items() if k != "cursor"}, "cursor": [str(start + size)]}
            headers["Link"] = f'<{self.hub.next_base or self.hub.url}/api/models?{urlencode(nxt, doseq=True, quote_via=quote)}>; rel="next"'
        self._json([r.info(expand) for r in page], headers=headers)


def start(hub: FakeHub) -> FakeHub:
    handler = type("Handler", (_Handler,), {"hub": hub})
    hub.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.server.daemon_threads = True
    threading.Thread(target=hub.server.serve_forever, daemon=True).start()
    return hub


@pytest.fixture
def hub_server():
    """A running FakeHub on 127.0.0.1 (empty: tests add repos); stopped afterwards."""
    hub = start(FakeHub())
    yield hub
    hub.stop()


def save_tiny(folder: Path, config) -> Path:
    """A real random-weight model of ``config`` saved with ``save_pretrained`` (safetensors)."""
    from transformers import AutoModel

    AutoModel.from_config(config).save_pretrained(folder)
    return folder


def populate(hub: FakeHub, root: Path) -> dict[str, Repo]:
    """Repos of two model types, a tiny test repo and a custom-code architecture.

    llama: three repos of different sizes and downloads plus
    ``hf-internal-testing/tiny-random-LlamaForCausalLM``; bert: one repo; and a
    config declaring ``auto_map`` for a model type transformers lacks.
    """
    from transformers import BertConfig, LlamaConfig

    def llama(hidden: int, layers: int):
        return LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                           num_attention_heads=2, num_key_value_heads=1, vocab_size=64)

    specs = {
        "meta/big-llama": (llama(64, 2), 5_000_000),
        "acme/mid-llama": (llama(32, 2), 20_000),
        "acme/small-llama": (llama(16, 1), 30),
        "hf-internal-testing/tiny-random-LlamaForCausalLM": (llama(16, 2), 100),
        "google/bert-tiny": (BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64), 50_000),
    }
    out = {}
    for repo_id, (config, downloads) in specs.items():
        folder = root / repo_id.replace("/", "--")
        if not (folder / "config.json").exists():  # saved once per root, served by every hub
            save_tiny(folder, config)
        out[repo_id] = hub.add_folder(repo_id, folder, downloads)
    custom = {"model_type": "fancy_remote", "architectures": ["FancyModel"],
              "auto_map": {"AutoConfig": "configuration_fancy.FancyConfig", "AutoModel": "modeling_fancy.FancyModel"}}
    out["lab/fancy-7b"] = hub.add_files("lab/fancy-7b", {"config.json": json.dumps(custom).encode(), "modeling_fancy.py": b"raise SystemExit('never run')\n"}, 777)
    return out
