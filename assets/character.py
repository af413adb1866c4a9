"""Character cognition assets: diaries, dreams, goal strategies, reflections, insights, drift
observations, gossip and channel summaries. Daily partitions (a character's day is its local date);
one run covers every active character (config can restrict it); single-run backfills.

Flags: ENABLE_CHARACTER_DIARY (diaries), ENABLE_DREAM_SEQUENCES (dreams), ENABLE_GOAL_STRATEGIST
(goal_strategies); BGP_CHAT_LLM_ENABLED=false leaves out every asset that calls the chat LLM (all but
drift_observations, which only embeds).
"""


from typing import Callable

import dagster as dg
from pydantic import Field

from assets._common import asset_args, materialize_result
from assets.errors import retry_only_healable
from assets import knowledge
from assets.latency import COGNITION, SOCIAL, LatencyClass
from assets.partitions import days_around
from assets.resources import LLMResource, StoreResource
from background_pipelines.character import channel_summaries, diaries, dreams, drift, goals, gossip, insights, reflections
from background_pipelines.character.result import StepResult
from background_pipelines.config import Settings

GROUP = "character_cognition"


class CharacterRunConfig(dg.Config):
    characters: list[str] = Field(default_factory=list, description="Only these characters (empty: every active one).")
    force: bool = Field(default=False, description="Rewrite entries already written at this code version (backfills).")


class ReflectionRunConfig(dg.Config):
    users: list[str] = Field(default_factory=list, description="Only these users (empty: everyone with new summaries).")
    force: bool = Field(default=False, description="Reflect again even where nothing changed.")


class ChannelRunConfig(dg.Config):
    window_hours: int = Field(default=6, description="Window length in hours (windows tile the UTC day from midnight).")
    channels: list[str] = Field(default_factory=list, description="Only these channels (empty: every channel).")
    force: bool = Field(default=False, description="Summarise windows again even if already summarised.")


def _character_asset(
    settings: Settings,
    *,
    name: str,
    run: Callable[..., StepResult],
    version: str,
    description: str,
    deps: list[str | dg.AssetDep],
    latency: LatencyClass = COGNITION,
    trigger: str = "nightly",
) -> dg.AssetsDefinition:
    """A per-(character, local day) LLM step over every partition key of the run."""

    @dg.asset(
        name=name,
        deps=deps,
        description=description,
        **asset_args(settings, group_name=GROUP, latency=latency, calls_llm=True, trigger=trigger, version=version),
    )
    def _asset(context: dg.AssetExecutionContext, config: CharacterRunConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        with retry_only_healable(name):  # an unknown character in the config fails at once, never retried
            result = run(s, llm.gateway(s), context.partition_keys, characters=config.characters or None, force=config.force, run_id=context.run_id)
        return materialize_result(context, name, result)

    return _asset


def _reflections_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        name="reflections",
        # the user's last sessions: the summaries of the LOOKBACK_DAYS before the day
        deps=_mapped(settings, ("session_summaries", "extracted_facts"), days_around(reflections.LOOKBACK_DAYS)),
        description=(
            "Per user with new kept summaries that (UTC) day: cross-session patterns over their last sessions "
            "(recurring topics, mood trend, preferences). One row per (user, newest summary reflected on)."
        ),
        **asset_args(settings, group_name=GROUP, latency=COGNITION, calls_llm=True, trigger="reflections", version=reflections.VERSION),
    )
    def _asset(context: dg.AssetExecutionContext, config: ReflectionRunConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        with retry_only_healable("reflections"):
            result = reflections.reflect_on_users(
                s, llm.gateway(s), context.partition_keys, users=config.users or None, force=config.force, run_id=context.run_id
            )
        return materialize_result(context, "reflections", result)

    return _asset


def _gossip_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        name="gossip",
        deps=["message_scores", "relationship_scores"],
        description=(
            "Significance-3 events users told one character, passed on as second-hand memories (with provenance: "
            "teller, receiver, user, source message) to the other characters who already know that user; never "
            "to a character who has not met them. Partition: the event's UTC day."
        ),
        **asset_args(settings, group_name=GROUP, latency=SOCIAL, calls_llm=True, trigger="nightly", version=gossip.VERSION),
    )
    def _asset(context: dg.AssetExecutionContext, config: CharacterRunConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        with retry_only_healable("gossip"):
            result = gossip.share_gossip(
                s, llm.gateway(s), context.partition_keys, characters=config.characters or None, force=config.force, run_id=context.run_id
            )
        return materialize_result(context, "gossip", result)

    return _asset


def _channel_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        name="channel_summaries",
        deps=["messages"],
        description=(
            "A rolling summary per channel for each ended window of the (UTC) day (6 h by default), each carrying "
            "the previous one forward; one row per (channel, window end). Windows not ended yet wait for a later run."
        ),
        **asset_args(settings, group_name=GROUP, latency=COGNITION, calls_llm=True, trigger="channel", version=channel_summaries.VERSION),
    )
    def _asset(context: dg.AssetExecutionContext, config: ChannelRunConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        with retry_only_healable("channel_summaries"):  # a bad window_hours fails at once
            result = channel_summaries.summarize_channels(
                s, llm.gateway(s), context.partition_keys, window_hours=config.window_hours,
                channels=config.channels or None, force=config.force, run_id=context.run_id,
            )
        return materialize_result(context, "channel_summaries", result)

    return _asset


def _drift_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        name="drift_observations",
        deps=["messages"],
        description=(
            "Per active character and local day: the embedding distance of its replies from its persona+voice and "
            "style statistics (length, emoji, question, exclamation rates) against the BGP_DRIFT_BASELINE_DAYS "
            "before; flagged at drift score >= BGP_DRIFT_THRESHOLD. Embeddings only, no chat LLM."
        ),
        **asset_args(settings, group_name=GROUP, latency=COGNITION, calls_llm=False, trigger="daily", version=drift.VERSION),
    )
    def _asset(context: dg.AssetExecutionContext, config: CharacterRunConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s, settings_now = store.store(), store.settings()
        with retry_only_healable("drift_observations"):  # an embeddings 5xx is retried; an unknown character is not
            result = drift.observe_drift(
                s, llm.embedder(), context.partition_keys, threshold=settings_now.drift_threshold,
                baseline_days=settings_now.drift_baseline_days, characters=config.characters or None,
                force=config.force, run_id=context.run_id,
            )
        return materialize_result(context, "drift_observations", result)

    return _asset


# a character's local day spans up to three UTC days (UTC-12 .. UTC+14): it reads the summaries,
# scores and facts of those days, and a backfill runs them first
def _mapped(settings: Settings, upstream: tuple[str, ...], mapping: dg.PartitionMapping) -> list[dg.AssetDep | str]:
    """`upstream` with `mapping`: the days a character day reads, so a backfill runs them first. An
    upstream asset switched off by a flag stays a plain (unpartitioned) dependency."""
    return [dg.AssetDep(a, partition_mapping=mapping) if a != "extracted_facts" or knowledge.enabled(settings) else a for a in upstream]



def definitions(settings: Settings) -> dg.Definitions:
    assets: list[dg.AssetsDefinition] = [_drift_asset(settings)]
    if settings.chat_llm_enabled:
        if settings.enable_character_diary:
            assets.append(
                _character_asset(
                    settings, name="diaries", run=diaries.write_diaries, version=diaries.VERSION, deps=_mapped(settings, ("session_summaries", "message_scores", "extracted_facts"), days_around(1, 1)),
                    description=(
                        "One private diary entry per active character per local day, in its voice, from the day's kept "
                        "summaries, significant memories (significance >= 2, pins) and new facts about the users it met."
                    ),
                )
            )
        if settings.enable_dream_sequences:
            assets.append(
                _character_asset(
                    settings, name="dreams", run=dreams.write_dreams, version=dreams.VERSION, deps=_mapped(settings, ("session_summaries", "message_scores", "extracted_facts"), days_around(1, 1)),
                    description="One dream sequence per active character per night: the day's people and things recombined surreally.",
                )
            )
        if settings.enable_goal_strategist:
            assets.append(
                _character_asset(
                    settings, name="goal_strategies", run=goals.plan_goal_strategies, version=goals.VERSION, deps=_mapped(settings, ("session_summaries", "message_scores", "extracted_facts"), days_around(1, 1)),
                    description=(
                        "Per active character: its goals against the day's interactions -> progress (with evidence "
                        "messages), users to follow up with, next steps."
                    ),
                )
            )
        assets.append(
            _character_asset(
                settings, name="insights", run=insights.find_insights, version=insights.VERSION,
                deps=_mapped(settings, ("reflections", "extracted_facts", "session_summaries"), days_around(insights.WINDOW_DAYS, 1)),
                trigger="insights",
                description=(
                    "Per active character: patterns across the users it talked with this week -> epiphanies, each "
                    "with the users and the message/summary/fact ids it rests on."
                ),
            )
        )
        assets += [_reflections_asset(settings), _gossip_asset(settings), _channel_asset(settings)]
    return dg.Definitions(assets=assets)
