#!/usr/bin/env sh
# Per-pool step limits, stored in the instance (run once after the database exists; re-running is
# harmless). A pool never caps a run class below its run limit in dagster.yaml: sensory runs (8)
# contain social-pool steps (relationship_scores), so social is 8 too. llm bounds LLM calls across
# every run; size it to the endpoint (BGP_LLM_MAX_CONCURRENCY per step).
set -eu
dagster instance concurrency set llm "${LLM_POOL_LIMIT:-4}"
dagster instance concurrency set sensory 8
dagster instance concurrency set social 8
dagster instance concurrency set action 4
dagster instance concurrency set cognition 4
