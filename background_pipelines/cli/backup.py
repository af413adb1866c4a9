"""`bgp backup [--snapshot] [--force]`, `bgp backups`, `bgp restore FILE [--into URL]`: store backups
to BGP_BACKUP_DIR (default $BGP_HOME/backups) and restore into an empty store."""

from __future__ import annotations

import sys
from pathlib import Path

from background_pipelines.backup import METHODS, BackupError, backup_dir_for, backup_store, restore_store
from background_pipelines.config import Settings, mask_url
from background_pipelines.store import open_store
from background_pipelines.store.backups import list_backups


def register(sub) -> None:
    b = sub.add_parser("backup", help="back the store up now (nightly kind unless --snapshot)")
    b.add_argument("--snapshot", action="store_true", help="a snapshot (keep 5) instead of a nightly backup (keep 14)")
    b.add_argument("--force", action="store_true", help="ignore the 23 h freshness guard")
    b.add_argument("--method", choices=METHODS, default="auto",
                   help="auto: SQLite backup API, pg_dump when on PATH, else the table-by-table export")
    b.set_defaults(func=_backup)

    ls = sub.add_parser("backups", help="list catalogued backups, newest first")
    ls.set_defaults(func=_list)

    r = sub.add_parser("restore", help="restore a backup FILE (or export directory) into an EMPTY store")
    r.add_argument("file", help="a .sqlite3, .pgdump or .export backup")
    r.add_argument("--into", metavar="URL", help="target store URL (default BGP_DATABASE_URL); it must hold no rows")
    r.add_argument("--no-reapply", action="store_true",
                   help="skip forgetting again what the forget logs (store, $BGP_HOME/forget_log.jsonl, the backups beside FILE) list")
    r.set_defaults(func=_restore)


def _backup(args) -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    try:
        result = backup_store(store, backup_dir_for(settings), kind="snapshot" if args.snapshot else "nightly",
                              force=args.force, method=args.method)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.preview().replace("**", ""))
    if result.path and not result.skipped:
        print(result.path)
    return 0


def _list(args) -> int:
    settings = Settings.from_env()
    rows = list_backups(open_store(settings.database_url))
    if not rows:
        print(f"no backups catalogued (directory {backup_dir_for(settings)})")
        return 0
    for r in rows:
        exists = "" if Path(r["path"]).exists() else "  (missing on disk)"
        print(f"{r['created_at']:%Y-%m-%d %H:%M}  {r['kind']:<8} {r['method']:<7} {r['size_bytes']:>12,}  {r['path']}{exists}")
    return 0


def _restore(args) -> int:
    settings = Settings.from_env()
    into = args.into or settings.database_url
    try:
        result = restore_store(Path(args.file), into)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = sum(result.tables.values())
    print(f"restored {Path(args.file).name} ({result.method}) into {mask_url(into)}: {total} rows in {len(result.tables)} tables")
    if not args.no_reapply:  # a backup predates later forgets: they must not come back
        from background_pipelines.backup import forget_keys_in_backups
        from background_pipelines.forget import reapply

        store = open_store(into)
        # the forget logs of the backups beside it (and in BGP_BACKUP_DIR): later ones know later forgets
        later = forget_keys_in_backups(Path(args.file).resolve().parent, settings.backup_dir)
        report = reapply(store, home=settings.home, extra_keys=later)
        store.engine.dispose()
        print(f"forget log re-applied: {len(report.users)} users, {report.message_count} messages, {report.total} rows removed")
    return 0
