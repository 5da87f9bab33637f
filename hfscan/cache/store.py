"""The results store: SQLite, one file, safe for concurrent readers and writers.

Tables
------
runs      one row per sweep (versions, device, arguments, status)
results   one row per (run, model type, class, check); committed as each finishes
hub       Hub metadata per model type (JSON), with its fetch time
overrides every override entry a run applied, by hash: its reason and the file it came from
meta      schema version

Every result is committed on its own, so killing a sweep loses nothing that
finished.  WAL mode lets reports read while a sweep writes; a second writer
waits on the lock (``busy_timeout``) instead of failing.

A write the store cannot take (a read-only file, a full disk) raises
:class:`StoreError` naming the store and the cause; what was committed before
stays.  A row whose values hfscan cannot read (an unknown status, a text where
a number belongs, a bad time or JSON) is *corrupt*: it is reported once, by
table and id, through ``on_corrupt`` and left out, so the rest still works.
"""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from hfscan.errors import StoreError
from hfscan.records import CheckResult, RunInfo, Status

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    label TEXT NOT NULL DEFAULT '',
    hfscan_version TEXT NOT NULL,
    python_version TEXT NOT NULL,
    torch_version TEXT,
    transformers_version TEXT NOT NULL,
    device TEXT NOT NULL,
    device_name TEXT NOT NULL DEFAULT '',
    dtype TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    model_type TEXT NOT NULL,
    model_class TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT '',
    family TEXT,
    check_name TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    error_type TEXT,
    message TEXT,
    traceback TEXT,
    duration_s REAL NOT NULL DEFAULT 0,
    param_count INTEGER,
    peak_mem_mb REAL,
    override_hash TEXT,
    key TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL DEFAULT 'config',
    reused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
CREATE INDEX IF NOT EXISTS results_key ON results(key);
CREATE TABLE IF NOT EXISTS hub (
    model_type TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS overrides (
    hash TEXT PRIMARY KEY,
    model_type TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

_TABLES = frozenset({"meta", "runs", "results", "hub", "overrides"})
_RESULT_COLUMNS = (
    "model_type", "model_class", "task", "family", "check_name", "status", "stage", "error_type",
    "message", "traceback", "duration_s", "param_count", "peak_mem_mb", "override_hash", "key",
    "details", "source", "reused",
)
_RUN_FIELDS = tuple(f.name for f in fields(RunInfo))
#: Result columns that hold numbers (None allowed for the optional ones), and text columns that may be NULL.
_NUMBERS = {"duration_s": False, "param_count": True, "peak_mem_mb": True, "reused": False}
_NULLABLE_TEXT = frozenset({"family", "stage", "error_type", "message", "traceback", "override_hash"})
_RUN_NULLABLE = frozenset({"torch_version", "finished_at"})


class CorruptRow(ValueError):
    """A stored value hfscan cannot read; ``what`` says which and why."""


def _warn(message: str) -> None:
    print(f"hfscan: warning: {message}", file=sys.stderr)


def _is_time(value: object) -> bool:
    try:
        datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """A handle on one SQLite store file."""

    def __init__(self, path: str | Path, on_corrupt: Callable[[str], None] = _warn):
        if str(path).strip() in ("", ":memory:") or str(path).startswith("file:"):
            raise StoreError(f"{str(path)!r} is not a store file: results must be stored on disk")
        self.path = Path(path)
        self.on_corrupt = on_corrupt
        self.corrupt: dict[tuple[str, object], str] = {}  # (table, row id) -> what is wrong, each reported once
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA busy_timeout = 30000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone() if "meta" in tables else None
            if not _TABLES <= tables or row is None:  # a store that has everything is only read here (it may be read-only)
                try:
                    with self._tx():
                        for stmt in _DDL.split(";"):
                            if stmt.strip():
                                self.conn.execute(stmt)
                        row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                        if row is None:
                            self.conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                except StoreError:
                    if row is None or not _TABLES - {"overrides"} <= tables:
                        raise  # an older read-only store without the overrides table can still be read
            if row is not None and not str(row[0]).strip().isdigit():
                self._corrupt("meta", "schema", f"schema version {row[0]!r} is not a number; read as {SCHEMA_VERSION}")
            elif row is not None and int(row[0]) > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: store schema {row[0]} is newer than this hfscan understands ({SCHEMA_VERSION})")
        except sqlite3.OperationalError as exc:  # the file system refused: read-only, full, locked, unreadable
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable hfscan store ({exc})") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open store ({exc.strerror or exc})") from None

    # -- plumbing ---------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; a write the store cannot take is a StoreError naming the store and the cause."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass
            raise StoreError(f"{self.path}: cannot write to the store ({exc}); results committed before are kept") from None

    def _corrupt(self, table: str, row_id: object, what: str) -> None:
        if (table, row_id) not in self.corrupt:
            self.corrupt[(table, row_id)] = what
            self.on_corrupt(f"{self.path}: {table} row {row_id} is corrupt ({what}); left out")

    def _query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs -------------------------------------------------------------
    def begin_run(self, info: RunInfo) -> RunInfo:
        data = {k: v for k, v in asdict(info).items() if k != "id"}
        cols = ", ".join(data)
        with self._tx():
            cur = self.conn.execute(
                f"INSERT INTO runs ({cols}) VALUES ({', '.join('?' * len(data))})", tuple(data.values())
            )
        return RunInfo(**{**asdict(info), "id": cur.lastrowid})

    def add_run(self, info: RunInfo, results: Iterable[CheckResult]) -> RunInfo:
        """A whole run and its results in one transaction (a merge): all of it is stored, or none."""
        data = {k: v for k, v in asdict(info).items() if k != "id"}
        stamp = now()
        with self._tx():
            cur = self.conn.execute(
                f"INSERT INTO runs ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})", tuple(data.values())
            )
            self.conn.executemany(
                f"INSERT INTO results (run_id, {', '.join(_RESULT_COLUMNS)}, created_at) "
                f"VALUES (?, {', '.join('?' * len(_RESULT_COLUMNS))}, ?)",
                [(cur.lastrowid, *self._result_row(r), stamp) for r in results],
            )
        return RunInfo(**{**asdict(info), "id": cur.lastrowid})

    def finish_run(self, run_id: int, status: str = "finished") -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET finished_at=?, status=? WHERE id=?", (now(), status, run_id))

    @staticmethod
    def _run(row: sqlite3.Row) -> RunInfo:
        d = {k: row[k] for k in _RUN_FIELDS}
        for k, v in d.items():
            if k == "id":
                continue
            if not (isinstance(v, str) or (v is None and k in _RUN_NULLABLE)):
                raise CorruptRow(f"{k} {v!r} is not text")
        for k in ("started_at", "finished_at"):
            if d[k] is not None and not _is_time(d[k]):
                raise CorruptRow(f"{k} {d[k]!r} is not an ISO time")
        return RunInfo(**d)

    def _runs(self, rows: Iterable[sqlite3.Row]) -> list[RunInfo]:
        out = []
        for row in rows:
            try:
                out.append(self._run(row))
            except CorruptRow as exc:
                self._corrupt("runs", row["id"], str(exc))
        return out

    def runs(self) -> list[RunInfo]:
        return self._runs(self._query("SELECT * FROM runs ORDER BY id"))

    def run(self, run_id: int) -> RunInfo:
        runs = self._runs(self._query("SELECT * FROM runs WHERE id=?", (run_id,)))
        if not runs:
            from hfscan.errors import UsageError

            why = f"run {run_id} in {self.path} is corrupt" if ("runs", run_id) in self.corrupt else f"no run {run_id} in {self.path}"
            raise UsageError(why)
        return runs[0]

    def latest_run(self, before: str | None = None) -> RunInfo | None:
        """The newest readable run (started at or before ``before``, an ISO time, when given)."""
        if before:
            rows = self._query("SELECT * FROM runs WHERE started_at <= ? ORDER BY started_at DESC, id DESC", (before,))
        else:
            rows = self._query("SELECT * FROM runs ORDER BY id DESC")
        for row in rows:
            runs = self._runs([row])
            if runs:
                return runs[0]
        return None

    # -- results ----------------------------------------------------------
    def add_result(self, run_id: int, result: CheckResult) -> None:
        self.add_results(run_id, [result])

    def add_results(self, run_id: int, results: Iterable[CheckResult]) -> None:
        """Store results in one transaction (all or none)."""
        stamp = now()
        rows = [(run_id, *self._result_row(r), stamp) for r in results]
        if not rows:
            return
        with self._tx():
            self.conn.executemany(
                f"INSERT INTO results (run_id, {', '.join(_RESULT_COLUMNS)}, created_at) "
                f"VALUES (?, {', '.join('?' * len(_RESULT_COLUMNS))}, ?)",
                rows,
            )

    @staticmethod
    def _result_row(r: CheckResult) -> tuple:
        special = {"check_name": r.check, "status": str(r.status), "reused": int(r.reused)}
        return tuple(special[c] if c in special else getattr(r, c) for c in _RESULT_COLUMNS)

    @staticmethod
    def _result(row: sqlite3.Row) -> CheckResult:
        d = {c: row[c] for c in _RESULT_COLUMNS}
        for c, v in d.items():
            if c in _NUMBERS:
                if v is None and _NUMBERS[c]:
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise CorruptRow(f"{c} {v!r} is not a number")
            elif not (isinstance(v, str) or (v is None and c in _NULLABLE_TEXT)):
                raise CorruptRow(f"{c} {v!r} is not text")
        if d["status"] not in Status._value2member_map_:
            raise CorruptRow(f"unknown status {d['status']!r}")
        d["check"] = d.pop("check_name")
        d["status"] = Status(d["status"])
        d["reused"] = bool(d["reused"])
        return CheckResult(**d)

    def _results(self, rows: Iterable[sqlite3.Row]) -> Iterator[tuple[sqlite3.Row, CheckResult]]:
        for row in rows:
            try:
                yield row, self._result(row)
            except CorruptRow as exc:
                self._corrupt("results", row["id"], str(exc))

    def results(self, run_id: int) -> list[CheckResult]:
        return [r for _, r in self._results(self._query("SELECT * FROM results WHERE run_id=? ORDER BY id", (run_id,)))]

    def lookup(self, key: str) -> CheckResult | None:
        """The newest finished result with this key (interrupted ones never count)."""
        rows = self._query(
            "SELECT * FROM results WHERE key=? AND status != ? ORDER BY id DESC",
            (key, Status.INTERRUPTED.value),
        )
        return next((r for _, r in self._results(rows)), None)

    def lookup_many(self, keys: Iterable[str]) -> dict[str, CheckResult]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, CheckResult] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self._query(
                f"SELECT * FROM results WHERE key IN ({', '.join('?' * len(chunk))}) AND status != ? ORDER BY id",
                (*chunk, Status.INTERRUPTED.value),
            )
            for row, result in self._results(rows):
                out[row["key"]] = result  # later rows win
        return out

    # -- hub metadata -----------------------------------------------------
    def put_hub(self, model_type: str, data: dict, fetched_at: str | None = None) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO hub (model_type, fetched_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT(model_type) DO UPDATE SET fetched_at=excluded.fetched_at, data=excluded.data",
                (model_type, fetched_at or now(), json.dumps(data, sort_keys=True)),
            )

    def hub(self) -> dict[str, dict]:
        """{model_type: data} with ``fetched_at`` added to each (a row whose data is no JSON object is left out)."""
        out = {}
        for r in self._query("SELECT * FROM hub"):
            try:
                data = json.loads(r["data"])
            except (TypeError, ValueError):
                data = None
            if not isinstance(data, dict) or not isinstance(r["model_type"], str):
                self._corrupt("hub", r["model_type"], "data is not a JSON object")
                continue
            out[r["model_type"]] = {**data, "fetched_at": r["fetched_at"]}
        return out

    def hub_corrupt(self, model_type: str, what: str) -> None:
        """Report a hub row a reader found unusable (e.g. the wrong shape) as corrupt."""
        self._corrupt("hub", model_type, what)

    # -- overrides ----------------------------------------------------------
    def put_overrides(self, entries: Iterable[tuple[str, str, str, str, str]]) -> None:
        """Store override entries as (hash, model type, reason, source file, entry JSON); a known hash is kept."""
        entries = list(entries)
        if not entries:
            return
        with self._tx():
            self.conn.executemany("INSERT OR IGNORE INTO overrides (hash, model_type, reason, source, body) VALUES (?, ?, ?, ?, ?)", entries)

    def overrides(self) -> dict[str, dict[str, str]]:
        """{hash: {"model_type", "reason", "source", "body"}} of every override entry a run stored."""
        try:
            rows = self._query("SELECT * FROM overrides")
        except StoreError:  # an older store, opened read-only before the table existed
            return {}
        return {r["hash"]: {k: r[k] for k in ("model_type", "reason", "source", "body")} for r in rows if isinstance(r["hash"], str)}
