"""Store backups and restore. SQLite: the online backup API (a consistent copy while runs write).
PostgreSQL: pg_dump (custom format) when it is on PATH, else a table-by-table export (gzipped JSON
lines per table plus a manifest). Nightly backups keep 14 and skip when one is younger than 23 h;
snapshots keep 5. Passwords reach pg_dump/pg_restore through PGPASSWORD only, never argv or logs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.sqltypes import Date, DateTime, LargeBinary

from background_pipelines.config import Settings, mask_url
from background_pipelines.store.backups import forget_backups, list_backups, record_backup
from background_pipelines.store.engine import Store, current_revision, head_revision, make_engine, open_store
from background_pipelines.store.ledger import utcnow

KEEP = {"nightly": 14, "snapshot": 5}
FRESHNESS = timedelta(hours=23)
METHODS = ("auto", "sqlite", "pg_dump", "export")
EXPORT_FORMAT = "bgp-export-1"
_BATCH = 1000


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message names the file or (masked) store."""


@dataclass
class BackupResult:
    kind: str
    skipped: bool = False
    reason: str = ""
    path: str | None = None
    method: str | None = None
    size_bytes: int = 0
    checksum: str | None = None
    rotated: list[str] = field(default_factory=list)

    def preview(self) -> str:
        if self.skipped:
            return f"{self.kind} backup skipped: {self.reason}"
        return (
            f"{self.kind} backup **{Path(self.path).name}** ({self.method}, {self.size_bytes:,} bytes, "
            f"sha256 {self.checksum[:12]}…); rotated out: {len(self.rotated)}"
        )


@dataclass
class RestoreResult:
    source: str
    method: str
    target: str  # masked URL
    tables: dict[str, int] = field(default_factory=dict)


# -- helpers -----------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def pg_command(tool: str, url: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a libpq tool on `url`: connection parts as options, the password
    in PGPASSWORD (never in argv, which other users can read in the process list)."""
    u = make_url(url)
    argv = [tool]
    if u.host:
        argv += ["--host", u.host]
    if u.port:
        argv += ["--port", str(u.port)]
    if u.username:
        argv += ["--username", u.username]
    argv += ["--dbname", u.database or "", "--no-password", *args]
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    if "sslmode" in u.query:
        env["PGSSLMODE"] = str(u.query["sslmode"])
    return argv, env


def _run(argv: list[str], env: dict[str, str], url: str, what: str) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout or "").strip().splitlines()
        password = make_url(url).password
        detail = " | ".join(err[-3:])
        if password:
            detail = detail.replace(str(password), "***")
        raise BackupError(f"{what} of {mask_url(url)} failed (exit {proc.returncode}): {detail}")


def derived_tables(engine) -> set[str]:
    """SQLite full-text tables (virtual tables and their shadow tables): an index over base tables,
    filled by triggers when the base rows are inserted, so exports leave them out."""
    if engine.dialect.name != "sqlite":
        return set()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
    virtual = {n for n, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")}
    return {n for n, _ in rows if n in virtual or any(n.startswith(v + "_") for v in virtual)}


def _reflect(engine, *, base_only: bool = False) -> MetaData:
    """The store's tables as they are, minus generated columns (PostgreSQL's messages.tsv, migration
    memlat_messages_tsv): the database computes them, so they are neither exported nor restored."""
    md = MetaData()
    md.reflect(bind=engine)
    for table in md.tables.values():
        for col in [c for c in table.columns if c.computed is not None]:
            table._columns.remove(col)
    if base_only:
        for name in derived_tables(engine):
            if name in md.tables:
                md.remove(md.tables[name])
    return md


def _json_value(value):
    if isinstance(value, datetime) or isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoders(table) -> dict:
    out = {}
    for col in table.columns:
        if isinstance(col.type, DateTime):
            out[col.name] = datetime.fromisoformat
        elif isinstance(col.type, Date):
            out[col.name] = date.fromisoformat
        elif isinstance(col.type, LargeBinary):
            out[col.name] = base64.b64decode
    return out


# -- backup ------------------------------------------------------------------------------------


def _backup_sqlite(store: Store, dest: Path) -> None:
    src_path = store.engine.url.database
    if not src_path or src_path == ":memory:":
        raise BackupError("an in-memory SQLite store cannot be backed up")
    src = sqlite3.connect(src_path, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # the online backup API: a consistent copy while writers continue
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _backup_pg_dump(store: Store, dest: Path) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    argv, env = pg_command("pg_dump", url, "--format=custom", "--no-owner", "--file", str(dest))
    _run(argv, env, url, "pg_dump")


def _backup_export(store: Store, dest: Path) -> None:
    """Every table as gzipped JSON lines plus manifest.json (row counts, sha256 per file, revision)."""
    dest.mkdir(parents=True)
    md = _reflect(store.engine, base_only=True)
    tables = {}
    with store.connect() as conn:
        if store.dialect == "postgresql":  # one snapshot for every table
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            for table in md.sorted_tables:
                path = dest / f"{table.name}.jsonl.gz"
                n = 0
                order = list(table.primary_key.columns) or list(table.columns)
                with gzip.open(path, "wt", encoding="utf-8") as fh:
                    for row in conn.execute(select(table).order_by(*order)).mappings():
                        fh.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                        n += 1
                tables[table.name] = dict(rows=n, file=path.name, sha256=_sha256_file(path))
    manifest = dict(
        format=EXPORT_FORMAT,
        dialect=store.dialect,
        revision=current_revision(store.engine),
        order=[t.name for t in md.sorted_tables],
        tables=tables,
    )
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _method_for(store: Store, method: str) -> str:
    if method not in METHODS:
        raise BackupError(f"backup method {method!r}: expected one of {', '.join(METHODS)}")
    if method != "auto":
        if method == "sqlite" and store.dialect != "sqlite":
            raise BackupError(f"method sqlite needs a SQLite store, not {store.dialect}")
        if method == "pg_dump" and store.dialect != "postgresql":
            raise BackupError(f"method pg_dump needs a PostgreSQL store, not {store.dialect}")
        return method
    if store.dialect == "sqlite":
        return "sqlite"
    if store.dialect == "postgresql" and shutil.which("pg_dump"):
        return "pg_dump"
    return "export"


_SUFFIX = {"sqlite": ".sqlite3", "pg_dump": ".pgdump", "export": ".export"}


def backup_store(
    store: Store,
    backup_dir: Path,
    *,
    kind: str = "nightly",
    force: bool = False,
    method: str = "auto",
    now: datetime | None = None,
) -> BackupResult:
    """Back the store up into `backup_dir`, catalogue it, rotate old ones of the same kind.

    A nightly backup is skipped when the newest catalogued one (still on disk) is younger than
    23 h, unless `force`. A failed backup leaves no file behind and no catalogue row."""
    if kind not in KEEP:
        raise BackupError(f"backup kind {kind!r}: expected nightly or snapshot")
    now = now or utcnow()
    result = BackupResult(kind=kind)
    if kind == "nightly" and not force:
        for b in list_backups(store, kind):
            if Path(b["path"]).exists():
                age = now - b["created_at"]
                if age < FRESHNESS:
                    result.skipped = True
                    result.reason = f"newest nightly backup {Path(b['path']).name} is {age.total_seconds() / 3600:.1f} h old (< 23 h)"
                    result.path = b["path"]
                    return result
                break
    method = _method_for(store, method)
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bgp-{kind}-{now:%Y%m%dT%H%M%S}Z"
    final = backup_dir / f"{stem}{_SUFFIX[method]}"
    n = 1
    while final.exists():
        final = backup_dir / f"{stem}-{n}{_SUFFIX[method]}"
        n += 1
    partial = final.with_name(final.name + ".partial")
    _remove(partial)
    try:
        {"sqlite": _backup_sqlite, "pg_dump": _backup_pg_dump, "export": _backup_export}[method](store, partial)
        partial.rename(final)
    except BaseException:
        _remove(partial)
        raise
    checksum = _sha256_file(final / "manifest.json" if final.is_dir() else final)
    result.path, result.method, result.size_bytes, result.checksum = str(final), method, _size(final), checksum
    record_backup(store, path=str(final), kind=kind, method=method, created_at=now, size_bytes=result.size_bytes, checksum=checksum)
    result.rotated = rotate(store, kind)
    return result


def rotate(store: Store, kind: str, keep: int | None = None) -> list[str]:
    """Delete backups of `kind` beyond the newest `keep` (14 nightly, 5 snapshots): files and rows."""
    keep = KEEP[kind] if keep is None else keep
    old = list_backups(store, kind)[keep:]
    for b in old:
        _remove(Path(b["path"]))
    forget_backups(store, [b["id"] for b in old])
    return [b["path"] for b in old]


# -- restore -----------------------------------------------------------------------------------


def _nonempty_tables(engine) -> dict[str, int]:
    md = _reflect(engine, base_only=True)
    out = {}
    with engine.connect() as conn:
        for t in md.sorted_tables:
            if t.name == "alembic_version":
                continue
            n = conn.execute(select(func.count()).select_from(t)).scalar_one()
            if n:
                out[t.name] = n
    return out


def _detect(path: Path) -> str:
    if path.is_dir():
        if not (path / "manifest.json").exists():
            raise BackupError(f"{path}: a directory without manifest.json is not an export backup")
        return "export"
    if not path.exists():
        raise BackupError(f"{path}: no such backup file")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    if head.startswith(b"PGDMP"):
        return "pg_dump"
    raise BackupError(f"{path}: not a SQLite file, a pg_dump custom archive or an export directory")


def _reset_sequences(conn, md: MetaData) -> None:
    for t in md.sorted_tables:
        pk = list(t.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement in (True, "auto") and pk[0].type.python_type is int:
            col = pk[0].name
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{t.name}"', "c": col}).scalar()
            if seq:
                conn.execute(
                    text(f'SELECT setval(:s, COALESCE((SELECT MAX("{col}") FROM "{t.name}"), 1), '
                         f'(SELECT MAX("{col}") IS NOT NULL FROM "{t.name}"))'),
                    {"s": seq},
                )


def _load_rows(into_url: str, tables: list[tuple[str, object]], revision: str | None) -> dict[str, int]:
    """Insert rows table by table (parents first) into a store migrated to the same revision."""
    heads = head_revision()
    if revision != heads:
        raise BackupError(
            f"the backup is at migration revision {revision}, this code at {heads}: restore with the matching version"
        )
    target = open_store(into_url)
    md = _reflect(target.engine)
    counts: dict[str, int] = {}
    try:
        with target.begin() as conn:
            for name, rows_iter in tables:
                if name == "alembic_version":
                    continue
                if name not in md.tables:
                    raise BackupError(f"table {name!r} of the backup does not exist in the target store")
                table = md.tables[name]
                dec = _decoders(table)
                batch, n = [], 0
                for row in rows_iter:
                    batch.append({k: (dec[k](v) if k in dec and isinstance(v, str) else v) for k, v in row.items()})
                    if len(batch) >= _BATCH:
                        conn.execute(insert(table), batch)
                        n += len(batch)
                        batch = []
                if batch:
                    conn.execute(insert(table), batch)
                    n += len(batch)
                counts[name] = n
            if target.dialect == "postgresql":
                _reset_sequences(conn, md)
    finally:
        target.engine.dispose()
    return counts


def _jsonl_rows(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def restore_store(source: Path, into_url: str) -> RestoreResult:
    """Restore a backup into an EMPTY store at `into_url` (no rows in any table; a SQLite file may
    not exist yet). Refuses, writing nothing, when the target holds data."""
    source = Path(source)
    method = _detect(source)
    target_url = make_url(into_url)
    dialect = target_url.get_backend_name()
    masked = mask_url(into_url)
    probe = make_engine(into_url)
    try:
        filled = _nonempty_tables(probe)
    except Exception as exc:  # the driver's message may carry connection details: keep its first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BackupError(f"cannot open the restore target {masked}: {type(exc).__name__}: {first}") from None
    finally:
        probe.dispose()
    if filled:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(filled.items()))
        raise BackupError(f"restore into {masked} refused: the store is not empty: {listed}")
    result = RestoreResult(source=str(source), method=method, target=masked)

    if method == "sqlite" and dialect == "sqlite":
        dest = target_url.database
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif method == "sqlite":  # a SQLite backup into PostgreSQL: copy table by table
        src_engine = create_engine(f"sqlite:///{source}")
        try:
            md = _reflect(src_engine, base_only=True)
            with src_engine.connect() as conn:
                revision = current_revision(src_engine)
                tables = [
                    (t.name, (dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))))
                    for t in md.sorted_tables
                ]
                result.tables = _load_rows(into_url, tables, revision)
        finally:
            src_engine.dispose()
    elif method == "pg_dump":
        if dialect != "postgresql":
            raise BackupError(f"{source.name} is a pg_dump archive: it restores into PostgreSQL only (use an export backup to change back end)")
        engine = make_engine(into_url)
        try:
            has_tables = bool(_reflect(engine).tables)
        finally:
            engine.dispose()
        args = ["--no-owner", "--single-transaction", "--exit-on-error"]
        if has_tables:  # migrated but empty: replace its (empty) tables
            args += ["--clean", "--if-exists"]
        argv, env = pg_command("pg_restore", into_url, *args, str(source))
        if not shutil.which("pg_restore"):
            raise BackupError("pg_restore is not on PATH: install the PostgreSQL client tools to restore a .pgdump")
        _run(argv, env, into_url, "pg_restore")
    else:
        manifest = json.loads((source / "manifest.json").read_text())
        if manifest.get("format") != EXPORT_FORMAT:
            raise BackupError(f"{source}/manifest.json: format {manifest.get('format')!r}, expected {EXPORT_FORMAT}")
        for name, info in manifest["tables"].items():
            if _sha256_file(source / info["file"]) != info["sha256"]:
                raise BackupError(f"{source / info['file']}: checksum does not match the manifest (corrupt backup)")
        tables = [(name, _jsonl_rows(source / manifest["tables"][name]["file"])) for name in manifest["order"]]
        result.tables = _load_rows(into_url, tables, manifest.get("revision"))
    if not result.tables:
        engine = make_engine(into_url)
        try:
            with engine.connect() as conn:
                md = _reflect(engine, base_only=True)
                result.tables = {
                    t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in md.sorted_tables
                    if t.name != "alembic_version"
                }
        finally:
            engine.dispose()
    return result


def forget_keys_in_backups(*directories: Path) -> set[tuple[str, str]]:
    """(kind, key_hash) of the forget_log of every SQLite (*.sqlite3) and export (*.export/) backup in
    `directories`: a backup made after a forget carries it, so restoring an older one on a host
    without $BGP_HOME/forget_log.jsonl still forgets it (pg_dump files are not read: use --method export)."""
    keys: set[tuple[str, str]] = set()
    for directory in directories:
        if not directory or not Path(directory).is_dir():
            continue
        for path in sorted(Path(directory).iterdir()):
            try:
                if path.suffix == ".sqlite3" and path.is_file():
                    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                    try:
                        keys.update((k, h) for k, h in conn.execute("SELECT kind, key_hash FROM forget_log"))
                    finally:
                        conn.close()
                elif path.is_dir() and (path / "forget_log.jsonl.gz").is_file():
                    with gzip.open(path / "forget_log.jsonl.gz", "rt", encoding="utf-8") as fh:
                        keys.update((r["kind"], r["key_hash"]) for r in map(json.loads, fh) if r)
            except (sqlite3.Error, OSError, ValueError, KeyError):  # not a backup of ours, or from before forget_log
                continue
    return keys


def backup_dir_for(settings: Settings) -> Path:
    return settings.backup_dir or settings.home / "backups"
