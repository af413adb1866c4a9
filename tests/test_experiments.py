"""Classification experiments in real Dagster runs: a small labelled set classified offline and through
the local OpenAI-compatible server reports the accuracy and confusion matrix computed here by hand;
a bad file fails the run naming its line and field, and writes nothing."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets.analysis import definitions as analysis_definitions
from assets.resources import LLMResource, StoreResource
from background_pipelines.analysis.experiments import DatasetError, read_labelled_set
from background_pipelines.config import Settings
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store.experiments import results_of
from background_pipelines.store.schema import classification_experiments

# text, true label, what the offline keyword classifier answers (a topic's word in the text, else none)
ROWS = [
    ("Another long shift at work today", "work", "work"),
    ("My boss moved the work meeting again", "work", "work"),
    ("We booked travel to Lisbon for June", "travel", "travel"),
    ("The travel insurance finally came through", "travel", "travel"),
    ("Flight to Rome, then straight to work", "travel", "work"),
    ("Both pets need the vet on Monday", "pets", "pets"),
    ("The dog chewed my slipper", "pets", "(none)"),
    ("Pets are cheaper than travel, sadly", "travel", "travel"),  # tie: the topic listed first wins
]
TOPICS = ["work", "travel", "pets"]


def _write(tmp_path, rows=ROWS, name="labelled.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y, _ in rows))
    return path


def _run(path, **config):
    settings = Settings.from_env()
    return dg.materialize(
        [a for a in analysis_definitions(settings).assets if a.key.to_user_string() == "classification_experiment"], resources={"store": StoreResource(), "llm": LLMResource()},
        run_config={"ops": {"classification_experiment": {"config": {"dataset": str(path), "topics": TOPICS, **config}}}},
        raise_on_error=False,
    )


def _meta(result):
    return {k: v.value for k, v in result.asset_materializations_for_node("classification_experiment")[0].metadata.items()}


def test_offline_experiment_reports_accuracy_and_the_confusion_matrix(store, bgp_env, tmp_path):
    result = _run(_write(tmp_path), name="keywords", batch_size=3)
    assert result.success
    meta = _meta(result)
    # by hand: lines 1, 2, 3, 4, 6 and 8 right; 5 (travel) taken for work, 7 (pets) matched no topic -> 6 / 8
    assert (meta["total"], meta["classified"], meta["correct"], meta["failed"]) == (8, 8, 6, 0)
    assert meta["accuracy"] == 0.75
    assert meta["confusion_matrix"] == (
        "| true \\ predicted | work | travel | pets | (none) |\n"
        "|---|---|---|---|---|\n"
        "| work | 2 | 0 | 0 | 0 |\n"
        "| travel | 1 | 3 | 0 | 0 |\n"
        "| pets | 0 | 0 | 1 | 1 |"
    )
    assert meta["per_topic"] == {"work": {"precision": 0.6667, "recall": 1.0}, "travel": {"precision": 1.0, "recall": 0.75},
                                 "pets": {"precision": 1.0, "recall": 0.5}}
    assert meta["llm_backend"] == "offline" and meta["status"] == "succeeded"
    rows = results_of(store, meta["experiment_id"])
    assert [(r["line"], r["predicted"]) for r in rows] == [(i + 1, p) for i, (_, _, p) in enumerate(ROWS)]


def test_experiment_through_the_local_server_compares_a_model(store, bgp_env, tmp_path, monkeypatch):
    # the "model" answers from a table: right on work and pets, wrong on two travel lines
    answer = {t: y for t, y, _ in ROWS}
    answer["Flight to Rome, then straight to work"] = "work"
    answer["We booked travel to Lisbon for June"] = "pets"

    def classify(request):
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        labels = []
        for line in user.splitlines()[1:]:
            i, text = line.split("\t", 1)
            labels.append({"id": int(i), "topic": answer[text], "confidence": 0.9})
        return {"labels": labels}

    with LocalLLMServer(api_key="sk-test") as srv:
        srv.script("classify_topic", classify)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", "sk-test")
        result = _run(_write(tmp_path), name="table-model", model="gpt-4o-mini", batch_size=4)
        assert result.success
        assert srv.stats()["total"] == 2  # 8 lines, 4 per call
    meta = _meta(result)
    # by hand: travel 4 lines -> 2 right (lines 4, 8), 1 as work, 1 as pets; work 2/2; pets 2/2 -> 6 / 8
    assert meta["accuracy"] == 0.75 and meta["correct"] == 6
    assert meta["confusion_matrix"] == (
        "| true \\ predicted | work | travel | pets |\n"
        "|---|---|---|---|\n"
        "| work | 2 | 0 | 0 |\n"
        "| travel | 1 | 2 | 1 |\n"
        "| pets | 0 | 0 | 2 |"
    )
    assert meta["llm_backend"] == "openai" and meta["llm_requests"] == 2 and "sk-test" not in json.dumps(meta, default=str)
    with store.connect() as conn:
        row = conn.execute(select(classification_experiments)).first()
    assert (row.name, row.status, row.accuracy, row.model) == ("table-model", "succeeded", 0.75, "gpt-4o-mini")


@pytest.mark.parametrize("content, suffix, expected", [
    ('{"text": "fine", "label": "work"}\n{"text": "no label here"}\n', ".jsonl", ":2: field 'label' is missing"),
    ('{"text": "fine", "label": "work"}\n{"text": 5, "label": "work"}\n', ".jsonl", ":2: field 'text' must be a string (got int)"),
    ('{"text": "fine", "label": "work"}\n{"text": "x", "label": "cooking"}\n', ".jsonl", ":2: field 'label': 'cooking' is not one of the topics"),
    ('{"text": "fine", "label": "work"}\n{oops\n', ".jsonl", ":2: not valid JSON"),
    ("text,label\nfine,work\n,pets\n", ".csv", ":3: field 'text' is empty"),
    ("body,label\nfine,work\n", ".csv", ":1: header lacks field 'text'"),
])
def test_a_bad_file_fails_the_run_naming_line_and_field(store, bgp_env, tmp_path, content, suffix, expected):
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(DatasetError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_labelled_set(path, TOPICS)
    result = _run(path)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert expected in failure.event_specific_data.error.message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # bad input is never retried
    with store.connect() as conn:  # nothing written
        assert conn.execute(select(func.count()).select_from(classification_experiments)).scalar_one() == 0
