"""`bgp characters load FILE.yaml | list | set NAME ...`: the characters (persona, voice, timezone,
goals) the nightly passes write for, edited from a YAML file or the command line."""

from __future__ import annotations

import sys

from background_pipelines.characters_yaml import CharacterFileError, load_characters_file, set_character
from background_pipelines.config import Settings
from background_pipelines.store import open_store
from background_pipelines.store.messages import list_characters


def register(sub) -> None:
    p = sub.add_parser("characters", help="list, load (YAML) or edit characters")
    csub = p.add_subparsers(dest="characters_command", metavar="ACTION")
    csub.required = True

    load = csub.add_parser("load", help="create/update every character of a YAML file (all or nothing)")
    load.add_argument("file", help="YAML file: a `characters:` list of {name, persona, voice, timezone, goals}")
    load.set_defaults(func=_load)

    ls = csub.add_parser("list", help="print the characters")
    ls.set_defaults(func=_list)

    st = csub.add_parser("set", help="create a character or change some of its fields")
    st.add_argument("name")
    st.add_argument("--persona", help="who the character is")
    st.add_argument("--voice", help="how it writes (e.g. 'terse, dry', 'lowercase, emoji')")
    st.add_argument("--timezone", help="IANA timezone of its day (e.g. Europe/Berlin)")
    st.add_argument("--goal", action="append", dest="goals", metavar="GOAL", help="a goal (repeat; replaces the goal list)")
    st.add_argument("--clear-goals", action="store_true", help="remove every goal")
    st.set_defaults(func=_set)


def _store():
    return open_store(Settings.from_env().database_url)


def _load(args) -> int:
    try:
        result = load_characters_file(_store(), args.file)
    except CharacterFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{result.path}: {len(result.created)} created ({', '.join(result.created) or '-'}), "
          f"{len(result.updated)} updated ({', '.join(result.updated) or '-'})")
    return 0


def _list(args) -> int:
    rows = list_characters(_store())
    if not rows:
        print("no characters (bgp characters load FILE.yaml, or bgp characters set NAME ...)")
        return 0
    for c in rows:
        persona = c["persona"] if len(c["persona"]) <= 60 else c["persona"][:59] + "…"
        print(f"{c['name']:<16} {c['timezone']:<22} goals={len(c['goals'] or [])}  {persona}")
    return 0


def _set(args) -> int:
    goals = [] if args.clear_goals else args.goals
    try:
        spec, created = set_character(_store(), args.name, persona=args.persona, voice=args.voice, timezone=args.timezone, goals=goals)
    except CharacterFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{'created' if created else 'updated'} {spec.name}: timezone {spec.timezone}, {len(spec.goals)} goal(s)")
    return 0
