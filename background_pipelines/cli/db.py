"""`bgp db ...`: store migrations and status."""

from __future__ import annotations

from background_pipelines.config import Settings
from background_pipelines.store.engine import current_revision, head_revision, make_engine, upgrade


def register(sub) -> None:
    db = sub.add_parser("db", help="store migrations")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    dbsub.required = True
    up = dbsub.add_parser("upgrade", help="apply migrations up to REVISION (default: heads)")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(func=_upgrade)
    st = dbsub.add_parser("current", help="print the store's migration revision and the head")
    st.set_defaults(func=_current)


def _upgrade(args) -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine, args.revision)
    print(f"store {settings.safe_database_url} at revision {current_revision(engine)}")
    return 0


def _current(args) -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    print(f"store {settings.safe_database_url}: revision {current_revision(engine) or '(empty)'}; head {head_revision()}")
    return 0
