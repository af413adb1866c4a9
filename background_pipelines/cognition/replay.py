"""Answers for the local OpenAI-compatible server computed from the request's own prompt by the
offline heuristics, so HTTP-path tests and the LLM-economy benchmark find the same facts as the
offline backend: `script_offline_answers(server)`."""

from __future__ import annotations

from background_pipelines.cognition import facts, scoring, summaries


def _user_content(request: dict) -> str:
    return next((m["content"] for m in reversed(request.get("messages") or []) if m.get("role") == "user"), "")


def _rows(request: dict) -> list[dict]:
    """The messages of a batched prompt (id, author, text per tab-separated line)."""
    lines = _user_content(request).split("\n")
    out = []
    for line in lines[1:]:
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0].isdigit():
            out.append({"id": int(parts[0]), "author": parts[1], "text": parts[2]})
    return out


def _summary_rows(request: dict) -> tuple[list[dict], list[str]]:
    body = _user_content(request).split("(new messages):\n", 1)[-1]
    msgs = []
    for line in body.split("\n"):
        author, sep, text = line.partition(": ")
        if sep:
            msgs.append({"id": len(msgs), "author": author, "text": text})
    return msgs, list(dict.fromkeys(m["author"] for m in msgs))


def answer_score(request: dict) -> dict:
    return scoring.SCORE_TASK.offline({"messages": _rows(request)}).model_dump()


def answer_facts(request: dict) -> dict:
    return facts.FACT_TASK.offline({"messages": _rows(request)}).model_dump()


def answer_summary(request: dict) -> dict:
    msgs, participants = _summary_rows(request)
    if not msgs:
        return {"summary": "An empty conversation.", "meaningfulness": 1}
    return summaries.SUMMARY_TASK.offline({"messages": msgs, "participants": participants}).model_dump()


def script_offline_answers(server) -> None:
    """Script `server` (a LocalLLMServer) to answer every message-level task like the offline backend."""
    server.script(scoring.SCORE_TASK.name, answer_score)
    server.script(facts.FACT_TASK.name, answer_facts)
    server.script(summaries.SUMMARY_TASK.name, answer_summary)
