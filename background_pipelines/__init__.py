"""background_pipelines: background cognition for LLM chat characters (the engine, free of Dagster)."""
