"""What every character-cognition step returns: the message-level StageResult (counts, LLM usage,
a markdown preview, the reasons of anything not done) plus the diary/dream preview format."""

from __future__ import annotations

from background_pipelines.cognition.result import StageResult, add_usage, md_table

# `pending` covers budget cut-offs and local days that are not over yet.
StepResult = StageResult

__all__ = ["StepResult", "add_usage", "md_table", "md_entries"]


def md_entries(entries: list[tuple[str, str]], limit: int = 6, chars: int = 1200) -> str:
    """Markdown sections `### heading` + quoted body, for diary and dream previews."""
    out = []
    for heading, body in entries[:limit]:
        body = body if len(body) <= chars else body[: chars - 1] + "…"
        out.append(f"### {heading}\n\n" + "\n".join(f"> {line}" if line else ">" for line in body.split("\n")))
    if len(entries) > limit:
        out.append(f"_{len(entries) - limit} more entries_")
    return "\n\n".join(out)
