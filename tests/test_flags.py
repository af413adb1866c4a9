"""Feature flags: each flag off removes exactly its definitions (assets, jobs, sensors, schedules),
compared with everything on; BGP_CHAT_LLM_ENABLED=false removes every LLM-calling one and keeps upkeep."""

from __future__ import annotations

import dagster as dg
import pytest

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions

# user-initiated analysis asks the LLM (or its offline stand-in): left out with it
ANALYSIS = {"classification_experiment", "analysis_proposals"}
ANALYSIS_JOBS = {"classification_experiment_job", "analysis_run_job"}
COGNITION_LLM = {"reflections", "insights", "diaries", "dreams", "goal_strategies", "gossip", "channel_summaries"}

# flag -> what must disappear (intersected with what exists with every flag on: assets still being
# written elsewhere count once they exist)
EXPECTED_REMOVED = {
    "ENABLE_RUNTIME_FACT_EXTRACTION": dict(
        assets={"extracted_facts", "knowledge_graph"}, jobs={"knowledge_job"}, sensors=set(), schedules=set()),
    "ENABLE_CHARACTER_DIARY": dict(assets={"diaries"}, jobs=set(), sensors=set(), schedules=set()),
    "ENABLE_DREAM_SEQUENCES": dict(assets={"dreams"}, jobs=set(), sensors=set(), schedules=set()),
    "ENABLE_GOAL_STRATEGIST": dict(assets={"goal_strategies"}, jobs=set(), sensors=set(), schedules=set()),
    "BGP_CHAT_LLM_ENABLED": dict(
        assets={"session_summaries", "extracted_facts", "knowledge_graph", "lore_digest"} | COGNITION_LLM | ANALYSIS,
        jobs={"summaries_job", "knowledge_job", "reflections_job", "insights_job", "nightly_job", "channel_summaries_job",
              "lore_digest_job"} | ANALYSIS_JOBS,
        sensors={"reflections_sensor", "insights_sensor", "lore_digest_sensor"},
        schedules={"nightly_schedule", "channel_summaries_schedule"},
    ),
}
# non-LLM upkeep that must survive BGP_CHAT_LLM_ENABLED=false whenever it exists
UPKEEP = dict(
    assets={"message_embeddings", "graph_decay", "graph_pruning", "store_backup", "graph_consolidation", "graph_enrichment",
            "drift_observations", "endpoint_probe", "knowledge_epochs", "hub_organisation"},
    jobs={"cleanup_job", "nightly_upkeep_job", "weekly_upkeep_job", "drift_job", "probe_job", "snapshot_job", "epochs_job", "actions_job"},
    schedules={"cleanup_schedule", "nightly_upkeep_schedule", "weekly_upkeep_schedule", "drift_schedule", "probe_schedule",
               "snapshot_schedule", "epochs_schedule"},
)


def _inventory(env: dict) -> dict[str, set[str]]:
    defs = build_definitions(Settings.from_env(env))
    repo = defs.get_repository_def()
    assets = set()
    for a in defs.assets or []:
        if isinstance(a, dg.AssetsDefinition) and a.is_executable:
            assets |= {k.to_user_string() for k in a.keys}
    return dict(
        assets=assets,
        jobs={j.name for j in repo.get_all_jobs() if not j.name.startswith("__")},
        sensors={s.name for s in repo.sensor_defs},
        schedules={s.name for s in repo.schedule_defs},
        llm_pool={k.to_user_string() for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
                  and a.is_executable and getattr(a.op, "pool", None) == "llm" for k in a.keys},
    )


@pytest.fixture(scope="module")
def base_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("flags")
    return {"BGP_HOME": str(home), "BGP_DATABASE_URL": f"sqlite:///{home / 'store.db'}",
            "BGP_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/alerts"}


@pytest.fixture(scope="module")
def all_on(base_env):
    return _inventory(base_env)


def test_everything_on_has_the_message_triggers(all_on):
    assert {"scoring_job", "cleanup_job"} <= all_on["jobs"]
    assert {"new_messages_sensor", "run_failure_alert_sensor"} <= all_on["sensors"]
    assert {"cleanup_schedule", "probe_schedule", "snapshot_schedule"} <= all_on["schedules"]
    assert {"probe_job", "snapshot_job"} <= all_on["jobs"] and "endpoint_probe" in all_on["assets"]


@pytest.mark.parametrize("flag", sorted(EXPECTED_REMOVED))
def test_each_flag_off_removes_exactly_its_definitions(flag, base_env, all_on):
    off = _inventory({**base_env, flag: "false"})
    for kind in ("assets", "jobs", "sensors", "schedules"):
        removed = all_on[kind] - off[kind]
        assert removed == EXPECTED_REMOVED[flag][kind] & all_on[kind], (flag, kind)
        assert off[kind] <= all_on[kind], (flag, kind)  # a flag never adds anything


def test_llm_off_removes_every_llm_pool_asset_and_keeps_upkeep(base_env, all_on):
    off = _inventory({**base_env, "BGP_CHAT_LLM_ENABLED": "false"})
    assert all_on["llm_pool"] and not all_on["llm_pool"] & off["assets"]
    for kind, names in UPKEEP.items():
        assert names & all_on[kind] <= off[kind], kind
    assert "new_messages_sensor" in off["sensors"]  # scoring + embeddings still run on new messages
