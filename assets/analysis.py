"""User-initiated analysis, launched from the Launchpad or the CLI with typed config: classification
experiments (a labelled message set classified by topic: accuracy and confusion matrix) and analysis
runs (messages of a time window -> filters -> batches -> LLM proposals with confidence). Each run is
one row in the store with its status, progress and failure; the engine is background_pipelines/analysis/.
Left out when BGP_CHAT_LLM_ENABLED=false (both ask the LLM, or its offline stand-in)."""

import dagster as dg
from pydantic import Field

from assets._common import asset_args
from assets.errors import retry_only_healable
from assets.latency import COGNITION
from assets.resources import LLMResource, StoreResource
from background_pipelines.config import Settings

GROUP = "analysis"
TRIGGER = "manual"  # started by a person (sensors/analysis.py defines the jobs), never by a schedule


class ExperimentConfig(dg.Config):
    dataset: str = Field(description="Path of the labelled set: JSON lines {\"text\", \"label\"} (.jsonl) or CSV with a text,label header (.csv).")
    name: str = Field(default="", description="A name to compare runs by (default: the file's stem).")
    topics: list[str] = Field(default_factory=list, description="The topics to choose from (default: the file's labels); a label outside them is an error.")
    instructions: str = Field(default="", description="Extra prompt instructions: the prompt variant under test.")
    model: str = Field(default="", description="Chat model for this experiment (default BGP_LLM_MODEL); the offline backend ignores it.")
    batch_size: int = Field(default=20, description="Messages per LLM call.")


class AnalysisConfig(dg.Config):
    window_start: str = Field(description="Start of the window (ISO date or time, UTC unless an offset is given), inclusive.")
    window_end: str = Field(description="End of the window (ISO date or time), exclusive.")
    keywords: list[str] = Field(default_factory=list, description="Keep messages holding one of these words (empty: no keyword filter).")
    min_length: int = Field(default=0, description="Keep messages at least this many characters long.")
    mentions: list[str] = Field(default_factory=list, description="Keep messages mentioning one of these names, with or without @ (empty: no filter).")
    batch_size: int = Field(default=50, description="Messages per LLM call.")
    model: str = Field(default="", description="Chat model for this run (default BGP_LLM_MODEL); the offline backend ignores it.")


def _gateway(llm: LLMResource, store, model: str):
    if not model:
        return llm.gateway(store)
    return LLMResource(base_url=llm.base_url, model=model, use_cache=llm.use_cache, max_concurrency=llm.max_concurrency).gateway(store)


def definitions(settings: Settings) -> dg.Definitions:
    if not settings.chat_llm_enabled:
        return dg.Definitions()

    @dg.asset(
        name="classification_experiment",
        description=(
            "A labelled message set classified by topic with the configured model and prompt; reports accuracy, "
            "per-topic precision/recall and the confusion matrix (rows: true label, columns: predicted). Each run is "
            "one experiment in `classification_experiments` (its lines in `classification_results`), so the "
            "materialization history compares models and prompts. A bad file fails at once naming line and field."
        ),
        **asset_args(settings, group_name=GROUP, latency=COGNITION, calls_llm=True, trigger=TRIGGER, daily=False),
    )
    def classification_experiment(context: dg.AssetExecutionContext, config: ExperimentConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        from background_pipelines.analysis.experiments import run_experiment

        s = store.store()
        with retry_only_healable("classification_experiment"):  # a bad file (DatasetError) fails once, never retried
            r = run_experiment(s, _gateway(llm, s, config.model), config.dataset, name=config.name, topics=config.topics,
                               instructions=config.instructions, batch_size=config.batch_size, run_id=context.run_id)
        meta = {
            "experiment_id": r.experiment_id,
            "status": r.status,
            "accuracy": dg.MetadataValue.float(float(r.accuracy)) if r.accuracy is not None else dg.MetadataValue.null(),
            "total": r.total, "classified": r.classified, "correct": r.correct, "failed": r.failed, "resumed": r.skipped,
            "confusion_matrix": dg.MetadataValue.md(r.confusion_markdown()),
            "per_topic": dg.MetadataValue.json(r.per_topic()),
            "topics": dg.MetadataValue.json(r.topics),
            **{k: v for k, v in r.usage.as_metadata().items() if v is not None},
            "dagster/row_count": r.total,
            "preview": dg.MetadataValue.md(r.preview()),
        }
        threshold = store.settings().failure_rate_threshold
        attempted = r.classified + r.failed
        if r.failed and attempted and r.failed / attempted >= threshold:
            raise dg.Failure(description=f"classification: {r.failed} of {attempted} lines failed: {'; '.join(r.errors[:3])}"[:2000],
                             metadata=meta, allow_retries=False)
        return dg.MaterializeResult(metadata=meta)

    @dg.asset(
        name="analysis_proposals",
        description=(
            "A user-initiated analysis run over a time window: messages fetched, pre-filtered (keywords, minimum length, "
            "mentions), cut into batches, and each batch asked for proposals (things someone needs or promised to do) "
            "with a confidence, each citing its messages. The run row (`analysis_runs`) holds status, progress and the "
            "failure; progress is reported as observations while the run goes; proposals go to `analysis_proposals`."
        ),
        **asset_args(settings, group_name=GROUP, latency=COGNITION, calls_llm=True, trigger=TRIGGER, daily=False),
    )
    def analysis_proposals(context: dg.AssetExecutionContext, config: AnalysisConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        from background_pipelines.analysis.runs import AnalysisError, AnalysisSpec, run_analysis

        try:
            spec = AnalysisSpec.parse(config.window_start, config.window_end, keywords=config.keywords, min_length=config.min_length,
                                      mentions=config.mentions, batch_size=config.batch_size, model=config.model)
        except AnalysisError as exc:  # bad config: no retry will fix it
            raise dg.Failure(description=f"analysis config: {exc}", allow_retries=False) from None

        def progress(p: dict) -> None:  # a person watching the run sees it move
            context.log.info(f"analysis: {p['batches_done']}/{p['batches_total']} batches done, {p['batches_failed']} failed, {p['proposals']} proposals")
            context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata={k: dg.MetadataValue.int(v) for k, v in p.items()}))

        s = store.store()
        with retry_only_healable("analysis_proposals"):
            r = run_analysis(s, _gateway(llm, s, config.model), spec, run_id=context.run_id, progress=progress)
        meta = {
            "analysis_id": r.analysis_id, "status": r.status, "fetched": r.fetched, "kept": r.kept,
            "batches_total": r.batches_total, "batches_done": r.batches_done, "batches_failed": r.batches_failed,
            "batches_resumed": r.batches_resumed, "proposals": len(r.proposals),
            "mean_confidence": round(sum(p["confidence"] for p in r.proposals) / len(r.proposals), 3) if r.proposals else 0.0,
            "window": f"{spec.window_start.isoformat()}..{spec.window_end.isoformat()}",
            **{k: v for k, v in r.usage.as_metadata().items() if v is not None},
            "dagster/row_count": len(r.proposals),
            "preview": dg.MetadataValue.md(r.preview()),
        }
        if r.batches_failed:  # the run row says failed with the reasons; the run fails too, so the alert fires
            raise dg.Failure(description=f"analysis: {r.batches_failed} of {r.batches_total} batches failed: {'; '.join(r.errors[:3])}"[:2000],
                             metadata=meta, allow_retries=False)
        return dg.MaterializeResult(metadata=meta)

    return dg.Definitions(assets=[classification_experiment, analysis_proposals])
