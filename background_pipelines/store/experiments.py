"""SQL for classification experiments: one row per experiment run, one per labelled line."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import select, update

from background_pipelines.store.engine import Store, insert_ignore, upsert
from background_pipelines.store.schema import classification_experiments as experiments
from background_pipelines.store.schema import classification_results as results


def start_experiment(store: Store, row: dict) -> dict:
    """The experiment of `row["run_id"]`, created if new (a retried run resumes its own)."""
    with store.begin() as conn:
        insert_ignore(conn, experiments, [row], ["run_id"])
        conn.execute(update(experiments).where(experiments.c.run_id == row["run_id"]).values(status="running", error=None))
        return dict(conn.execute(select(experiments).where(experiments.c.run_id == row["run_id"])).first()._mapping)


def done_lines(store: Store, experiment_id: int) -> set[int]:
    with store.connect() as conn:
        return set(conn.execute(select(results.c.line).where(results.c.experiment_id == experiment_id, results.c.status == "done")).scalars())


def save_results(store: Store, rows: Sequence[dict]) -> None:
    with store.begin() as conn:
        upsert(conn, results, rows, ["experiment_id", "line"], ["text", "label", "predicted", "confidence", "status", "error"])


def results_of(store: Store, experiment_id: int) -> list[dict]:
    with store.connect() as conn:
        q = select(results).where(results.c.experiment_id == experiment_id).order_by(results.c.line)
        return [dict(r._mapping) for r in conn.execute(q)]


def finish_experiment(store: Store, experiment_id: int, **values) -> None:
    with store.begin() as conn:
        conn.execute(update(experiments).where(experiments.c.id == experiment_id).values(**values))


def experiment(store: Store, experiment_id: int) -> dict | None:
    with store.connect() as conn:
        r = conn.execute(select(experiments).where(experiments.c.id == experiment_id)).first()
        return dict(r._mapping) if r else None
