"""background_pipelines: background cognition for LLM chat characters (the engine, free of Dagster)."""

__all__ = ["record_messages", "recall"]


def __getattr__(name: str):
    # Lazy, so `import background_pipelines.config` stays light and free of import cycles.
    if name == "record_messages":
        from background_pipelines.ingest import record_messages

        return record_messages
    if name == "recall":
        from background_pipelines.recall import recall

        return recall
    raise AttributeError(f"module 'background_pipelines' has no attribute {name!r}")
