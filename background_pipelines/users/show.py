"""`bgp users show USER`: everything the store knows about one person, each item with its source
messages and validity, as plain data (for --json), text, or a self-contained HTML page with the graph."""

from __future__ import annotations

import html
import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from background_pipelines.forget import key_hash
from background_pipelines.recall.graph import valid_to
from background_pipelines.store import search_index
from background_pipelines.store import users as ustore
from background_pipelines.store.engine import Store
from background_pipelines.store.schema import (
    facts,
    forget_log,
    gossip,
    messages,
    pins,
    reflections,
    relationship_scores,
)
from background_pipelines.users.identity import entity_norm, resolve_user

_EXCERPT = 160


def user_profile(store: Store, ref: str, *, limit: int = 200) -> dict[str, Any]:
    """What the store holds about the person `ref` names (all linked accounts): accounts and names,
    links, activity, facts and preferences (with validity), relationship scores, pins, summaries,
    reflections, gossip about them, graph neighbours, and what was forgotten. Every item lists its
    source message ids; `sources` holds those messages (id, author, time, excerpt). Reads go through
    indexed user columns, so the cost follows this user's rows, not the number of users."""
    u = resolve_user(store, ref)
    keys = list(u.keys)
    with store.connect() as conn:
        accounts = ustore.by_keys(conn, keys)
        names = ustore.names_of(conn, keys)
        links = ustore.link_history(conn, keys)
        activity = conn.execute(
            select(func.count(), func.count(func.distinct(messages.c.session)), func.min(messages.c.created_at), func.max(messages.c.created_at))
            .where(messages.c.author.in_(keys))
        ).one()
        fact_rows = [dict(r._mapping) for r in conn.execute(
            select(facts).where(facts.c.user_name.in_(keys)).order_by(facts.c.valid_from, facts.c.id).limit(limit))]
        graph = [search_index.user_graph(conn, entity_norm(k)) for k in keys]
        scores = [dict(r._mapping) for r in conn.execute(
            select(relationship_scores).where(relationship_scores.c.user_name.in_(keys)).order_by(relationship_scores.c.familiarity.desc()))]
        pin_rows = [dict(r._mapping) for r in conn.execute(
            select(pins.c.character, pins.c.message_id, pins.c.kind, pins.c.pinned_at, pins.c.unpinned_at)
            .select_from(pins.join(messages, messages.c.id == pins.c.message_id))
            .where(messages.c.author.in_(keys)).order_by(pins.c.pinned_at).limit(limit))]
        summary_ids = sorted({i for k in keys for i in search_index.user_summary_ids(conn, k, character=None, at=None)})[-limit:]
        sums = search_index.summaries_by_ids(conn, summary_ids)
        refl = [dict(r._mapping) for r in conn.execute(
            select(reflections).where(reflections.c.user_name.in_(keys)).order_by(reflections.c.through_summary_id).limit(limit))]
        gos = [dict(r._mapping) for r in conn.execute(
            select(gossip).where(gossip.c.user_name.in_(keys)).order_by(gossip.c.day, gossip.c.id).limit(limit))]
        hashes = {key_hash("user", k): k for k in keys}
        forgotten_users = [dict(r._mapping) for r in conn.execute(select(forget_log).where(forget_log.c.key_hash.in_(list(hashes))))]

        relations, ents, uids = {}, {}, set()
        for uid, rels, es in graph:
            if uid is not None:
                uids.add(uid)
            ents.update(es)
            relations.update({r["id"]: r for r in rels})
        cited: set[int] = set()
        for row in fact_rows + list(relations.values()) + refl:
            cited.update(int(i) for i in row.get("source_message_ids") or [])
        for s in sums.values():
            cited.update(int(i) for i in s["message_ids"] or [])
        cited.update(int(g["source_message_id"]) for g in gos)
        cited.update(int(p["message_id"]) for p in pin_rows)
        sources = search_index.messages_by_ids(conn, cited)

    def srcs(ids) -> list[int]:
        return sorted(int(i) for i in ids or [])

    missing = sorted(i for i in cited if i not in sources)
    out_facts, prefs = [], []
    for f in fact_rows:
        citing = [r for r in relations.values() if f["id"] in (r["source_fact_ids"] or [])]
        ended = [valid_to(r) for r in citing]
        item = dict(id=f["id"], account=f["user_name"], predicate=f["predicate"], object=f["object"], confidence=f["confidence"],
                    valid_from=f["valid_from"], valid_to=max(ended) if citing and all(e is not None for e in ended) else None,
                    source_message_ids=srcs(f["source_message_ids"]), run_id=f["run_id"])
        (prefs if f["kind"] == "preference" else out_facts).append(item)
    neighbours = []
    for r in sorted(relations.values(), key=lambda r: (r["valid_from"], r["id"])):
        outgoing = r["src_id"] in uids
        other = ents.get(r["dst_id"] if outgoing else r["src_id"], {})
        neighbours.append(dict(
            relation_id=r["id"], direction="out" if outgoing else "in", predicate=r["predicate"], entity=other.get("name"),
            entity_type=other.get("type"), weight=r["weight"], valid_from=r["valid_from"], valid_to=valid_to(r),
            inferred=bool(r.get("inferred")), source_message_ids=srcs(r["source_message_ids"]), source_fact_ids=srcs(r["source_fact_ids"]),
        ))
    return dict(
        user=dict(key=u.key, display_name=u.display_name, person=u.person, keys=keys),
        accounts=[dict(key=k, display_name=a.get("display_name"), platform=a.get("platform"), platform_user_id=a.get("platform_user_id"),
                       first_seen=a.get("first_seen"), names=names.get(k, [])) for k, a in sorted(accounts.items())],
        links=[dict(action=l["action"], account=l["user_key"], other=l["other_key"], person_before=l["person_before"],
                    person_after=l["person_after"], reason=l["reason"], actor=l["actor"], at=l["created_at"]) for l in links],
        activity=dict(messages=activity[0], sessions=activity[1], first=activity[2], last=activity[3]),
        facts=out_facts,
        preferences=prefs,
        relationships=[dict(character=s["character"], account=s["user_name"], familiarity=s["familiarity"], interactions=s["interactions"],
                            sessions=s["sessions"], first_interaction=s["first_interaction"], last_interaction=s["last_interaction"]) for s in scores],
        pins=[dict(character=p["character"], message_id=p["message_id"], kind=p["kind"], valid_from=p["pinned_at"], valid_to=p["unpinned_at"],
                   source_message_ids=[p["message_id"]]) for p in pin_rows],
        summaries=[dict(id=s["id"], session=s["session"], day=s["day"], text=s["text"], valid_from=s["created_at"],
                        source_message_ids=srcs(s["message_ids"])) for s in sorted(sums.values(), key=lambda s: s["id"])],
        reflections=[dict(id=r["id"], account=r["user_name"], day=r["day"], mood_trend=r["mood_trend"], topics=r["recurring_topics"],
                          text=r["text"], source_message_ids=srcs(r["source_message_ids"])) for r in refl],
        gossip=[dict(id=g["id"], from_character=g["from_character"], to_character=g["to_character"], day=g["day"], text=g["text"],
                     source_message_ids=[int(g["source_message_id"])]) for g in gos],
        graph=dict(entity_ids=sorted(uids), neighbours=neighbours),
        forgotten=dict(
            source_message_ids=missing,  # cited by what remains, no longer stored: forgotten (or deleted)
            user_forgets=[dict(account=hashes[f["key_hash"]], at=f["created_at"], rows=f["rows"]) for f in forgotten_users],
        ),
        sources={i: dict(id=i, author=m["author"], session=m["session"], created_at=m["created_at"], text=_clip(m["text"]))
                 for i, m in sorted(sources.items())},
    )


def _clip(text: str, n: int = _EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def jsonable(value):
    """Datetimes as ISO strings, dict keys as strings: what json.dumps needs."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _d(t) -> str:
    return f"{t:%Y-%m-%d}" if t else ""


def _validity(item: dict) -> str:
    start = _d(item.get("valid_from")) or "?"
    return f"{start}..{_d(item.get('valid_to'))}" if item.get("valid_to") else f"{start}.. (current)"


def _ids(ids) -> str:
    return "msgs " + ",".join(str(i) for i in ids[:6]) + ("…" if len(ids) > 6 else "") if ids else "no sources"


def render_text(p: dict) -> str:
    """The profile as text a person reads in a terminal."""
    u, a = p["user"], p["activity"]
    lines = [f"{u['display_name']} ({u['key']})" + (f", linked: {', '.join(k for k in u['keys'] if k != u['key'])}" if len(u["keys"]) > 1 else "")]
    for acc in p["accounts"]:
        lines.append(f"  account {acc['key']}: platform {acc['platform']}, id {acc['platform_user_id']}, first seen {_d(acc['first_seen'])}, "
                     f"names: {', '.join(acc['names']) or acc['display_name']}")
    lines.append(f"  {a['messages']} messages in {a['sessions']} sessions, {_d(a['first'])} .. {_d(a['last'])}")
    for link in p["links"]:
        lines.append(f"  {link['action']} {link['account']} -> {link['person_after']} at {link['at']:%Y-%m-%d %H:%M} by {link['actor'] or '?'}: {link['reason']}")

    def section(title: str, items: list, fmt) -> None:
        lines.append(f"\n{title} ({len(items)})")
        lines.extend("  " + fmt(i) for i in items)

    section("facts", p["facts"], lambda f: f"#{f['id']} {f['predicate']} {f['object']}  [{_validity(f)}, conf {f['confidence']:.2f}, {_ids(f['source_message_ids'])}]")
    section("preferences", p["preferences"], lambda f: f"#{f['id']} {f['object']}  [{_validity(f)}, {_ids(f['source_message_ids'])}]")
    section("relationships", p["relationships"], lambda s: f"{s['character']}: familiarity {s['familiarity']:.2f}, {s['interactions']} messages, "
            f"{s['sessions']} sessions, {_d(s['first_interaction'])}..{_d(s['last_interaction'])}")
    section("pins", p["pins"], lambda x: f"{x['character']} pinned message {x['message_id']} ({x['kind']}) [{_validity(x)}]")
    section("summaries", p["summaries"], lambda s: f"#{s['id']} {s['day']} {_clip(s['text'], 100)}  [{_ids(s['source_message_ids'])}]")
    section("reflections", p["reflections"], lambda r: f"#{r['id']} {r['day']} mood {r['mood_trend']}: {_clip(r['text'], 90)}  [{_ids(r['source_message_ids'])}]")
    section("gossip about them", p["gossip"], lambda g: f"{g['from_character']} -> {g['to_character']} {g['day']}: {_clip(g['text'], 80)}  [{_ids(g['source_message_ids'])}]")
    section("graph neighbours", p["graph"]["neighbours"], lambda n: f"{'->' if n['direction'] == 'out' else '<-'} {n['predicate']} {n['entity']} "
            f"({n['entity_type']}, weight {n['weight']:g}) [{_validity(n)}, {_ids(n['source_message_ids'])}]")
    fg = p["forgotten"]
    lines.append(f"\nforgotten: {len(fg['source_message_ids'])} cited message(s) no longer stored"
                 + (f" ({', '.join(str(i) for i in fg['source_message_ids'][:10])})" if fg["source_message_ids"] else "")
                 + "".join(f"; account {f['account']} forgotten at {f['at']:%Y-%m-%d %H:%M}" for f in fg["user_forgets"]))
    lines.append(f"\nsource messages ({len(p['sources'])})")
    for m in p["sources"].values():
        lines.append(f"  #{m['id']:<6} {m['created_at']:%Y-%m-%d %H:%M} {m['author']}: {m['text']}")
    return "\n".join(lines)


def profile_counts(p: dict) -> dict[str, int]:
    """How many items of each kind the profile holds (what the UI's metadata shows as numbers)."""
    return dict(
        accounts=len(p["accounts"]), messages=int(p["activity"]["messages"] or 0), sessions=int(p["activity"]["sessions"] or 0),
        facts=len(p["facts"]), current_facts=sum(1 for f in p["facts"] if f["valid_to"] is None),
        preferences=len(p["preferences"]), relationships=len(p["relationships"]), pins=len(p["pins"]),
        summaries=len(p["summaries"]), reflections=len(p["reflections"]), gossip=len(p["gossip"]),
        graph_neighbours=len(p["graph"]["neighbours"]), forgotten_messages=len(p["forgotten"]["source_message_ids"]),
    )


def render_markdown(p: dict, *, limit: int = 25) -> str:
    """The profile as markdown for the Dagster UI (the user_memory asset's metadata): the same sections
    as `bgp users show`, each item with its validity and source message ids, `limit` items a section."""
    u, a = p["user"], p["activity"]

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    def table(title: str, head: list[str], rows: list[list]) -> list[str]:
        out = [f"\n**{title}** ({len(rows)})"]
        if rows:
            out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows[:limit]]
            if len(rows) > limit:
                out.append(f"\n_{len(rows) - limit} more: `bgp users show {u['key']}`_")
        return out

    lines = [f"### {u['display_name'] or u['key']} (`{u['key']}`)",
             f"{a['messages']} messages in {a['sessions']} sessions, {_d(a['first'])} .. {_d(a['last'])}; accounts: "
             + ", ".join(f"`{acc['key']}` ({', '.join(acc['names']) or acc['display_name']})" for acc in p["accounts"])]
    lines += table("facts", ["fact", "valid", "confidence", "sources"],
                   [[f"{f['predicate']} {f['object']}", _validity(f), f"{f['confidence']:.2f}", _ids(f["source_message_ids"])] for f in p["facts"]])
    lines += table("preferences", ["preference", "valid", "sources"],
                   [[f["object"], _validity(f), _ids(f["source_message_ids"])] for f in p["preferences"]])
    lines += table("relationships", ["character", "familiarity", "messages", "sessions", "span"],
                   [[s["character"], f"{s['familiarity']:.2f}", s["interactions"], s["sessions"],
                     f"{_d(s['first_interaction'])}..{_d(s['last_interaction'])}"] for s in p["relationships"]])
    lines += table("pins", ["character", "message", "kind", "valid"], [[x["character"], x["message_id"], x["kind"], _validity(x)] for x in p["pins"]])
    lines += table("summaries", ["day", "summary", "sources"], [[s["day"], _clip(s["text"], 100), _ids(s["source_message_ids"])] for s in p["summaries"]])
    lines += table("reflections", ["day", "mood", "reflection", "sources"],
                   [[r["day"], r["mood_trend"], _clip(r["text"], 90), _ids(r["source_message_ids"])] for r in p["reflections"]])
    lines += table("graph neighbours", ["relation", "entity", "weight", "valid", "sources"],
                   [[("-> " if n["direction"] == "out" else "<- ") + n["predicate"], n["entity"], f"{n['weight']:g}", _validity(n),
                     _ids(n["source_message_ids"])] for n in p["graph"]["neighbours"]])
    fg = p["forgotten"]
    lines.append(f"\n**forgotten**: {len(fg['source_message_ids'])} cited message(s) no longer stored")
    return "\n".join(lines)


def render_html(p: dict) -> str:
    """A self-contained page (no scripts, no network): the sections as tables and the user's graph
    neighbourhood as an inline SVG (current edges solid, ended ones dashed)."""
    e = html.escape
    u = p["user"]

    def table(title: str, head: list[str], rows: list[list]) -> str:
        body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows) or f"<tr><td colspan={len(head)}>none</td></tr>"
        return f"<h2>{e(title)} ({len(rows)})</h2><table><tr>{''.join(f'<th>{e(h)}</th>' for h in head)}</tr>{body}</table>"

    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(u['display_name'])} ({e(u['key'])})</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}th{background:#f3f3f3}</style></head><body>",
        f"<h1>{e(u['display_name'])} <small>{e(u['key'])}</small></h1>",
        table("accounts", ["key", "platform", "id", "display name", "names", "first seen"],
              [[a["key"], a["platform"], a["platform_user_id"], a["display_name"], ", ".join(a["names"]), _d(a["first_seen"])] for a in p["accounts"]]),
        "<h2>graph</h2>" + _svg(p),
        table("facts", ["id", "predicate", "object", "validity", "confidence", "sources"],
              [[f["id"], f["predicate"], f["object"], _validity(f), f"{f['confidence']:.2f}", _ids(f["source_message_ids"])] for f in p["facts"]]),
        table("preferences", ["id", "preference", "validity", "sources"],
              [[f["id"], f["object"], _validity(f), _ids(f["source_message_ids"])] for f in p["preferences"]]),
        table("relationships", ["character", "familiarity", "messages", "sessions", "first", "last"],
              [[s["character"], f"{s['familiarity']:.2f}", s["interactions"], s["sessions"], _d(s["first_interaction"]), _d(s["last_interaction"])] for s in p["relationships"]]),
        table("pins", ["character", "message", "kind", "validity"], [[x["character"], x["message_id"], x["kind"], _validity(x)] for x in p["pins"]]),
        table("summaries", ["id", "day", "text", "sources"], [[s["id"], s["day"], s["text"], _ids(s["source_message_ids"])] for s in p["summaries"]]),
        table("reflections", ["id", "day", "mood", "text", "sources"], [[r["id"], r["day"], r["mood_trend"], r["text"], _ids(r["source_message_ids"])] for r in p["reflections"]]),
        table("gossip about them", ["from", "to", "day", "text"], [[g["from_character"], g["to_character"], g["day"], g["text"]] for g in p["gossip"]]),
        table("graph neighbours", ["relation", "predicate", "entity", "validity", "sources"],
              [[n["relation_id"], ("" if n["direction"] == "out" else "← ") + n["predicate"], n["entity"], _validity(n), _ids(n["source_message_ids"])] for n in p["graph"]["neighbours"]]),
        table("forgotten", ["what", "detail"],
              [["cited messages no longer stored", ", ".join(str(i) for i in p["forgotten"]["source_message_ids"]) or "none"]]
              + [[f"account {f['account']} forgotten", _d(f["at"])] for f in p["forgotten"]["user_forgets"]]),
        table("source messages", ["id", "time", "author", "text"],
              [[m["id"], f"{m['created_at']:%Y-%m-%d %H:%M}", m["author"], m["text"]] for m in p["sources"].values()]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _svg(p: dict, size: int = 520) -> str:
    """The user at the centre, each neighbour on a circle, one labelled edge per relation."""
    e = html.escape
    ns = p["graph"]["neighbours"]
    c = size / 2
    others = list(dict.fromkeys(n["entity"] for n in ns))
    pos = {name: (c + (c - 70) * math.cos(2 * math.pi * i / max(len(others), 1)),
                  c + (c - 70) * math.sin(2 * math.pi * i / max(len(others), 1))) for i, name in enumerate(others)}
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' role='img' aria-label='graph of {e(p['user']['key'])}'>"]
    for n in ns:
        x, y = pos[n["entity"]]
        dash = " stroke-dasharray='5,4'" if n["valid_to"] else ""
        out.append(f"<line x1='{c:.0f}' y1='{c:.0f}' x2='{x:.0f}' y2='{y:.0f}' stroke='#888'{dash}/>")
        out.append(f"<text x='{(c + x) / 2:.0f}' y='{(c + y) / 2:.0f}' font-size='10' fill='#555'>{e(n['predicate'])}</text>")
    for name, (x, y) in pos.items():
        out.append(f"<circle cx='{x:.0f}' cy='{y:.0f}' r='6' fill='#6a9'/><text x='{x + 8:.0f}' y='{y + 4:.0f}' font-size='12'>{e(str(name))}</text>")
    out.append(f"<circle cx='{c:.0f}' cy='{c:.0f}' r='10' fill='#c54'/><text x='{c + 12:.0f}' y='{c + 4:.0f}' font-size='13' font-weight='bold'>{e(p['user']['display_name'])}</text>")
    out.append("</svg>")
    return "".join(out)
