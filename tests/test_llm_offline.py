"""The offline backend: deterministic, free, labelled "offline", and one failing heuristic fails one item."""

from __future__ import annotations

from background_pipelines.config import Settings
from background_pipelines.llm import Gateway, Task
from llm_helpers import SUMMARIZE, Summary

DEMO = ["We hiked the ridge at dawn. It was cold.", "Buy milk", "I moved to Lisbon last spring and love it."]


def test_offline_backend_is_deterministic_and_makes_no_requests(store):
    gw = Gateway.from_settings(Settings.from_env({}), store)
    first, usage = gw.run(SUMMARIZE, DEMO)
    second, _ = Gateway.from_settings(Settings.from_env({}), store).run(SUMMARIZE, DEMO)
    assert gw.backend == "offline" and [o.value for o in first] == [o.value for o in second]
    assert usage.as_metadata()["llm_backend"] == "offline" and usage.requests == 0 and usage.cost_usd == 0


def test_offline_heuristic_failure_fails_its_item_only(store):
    def offline(text):
        if not text:
            raise ValueError("nothing to summarize")
        return {"summary": text, "meaningfulness": 2}  # a dict is validated into the schema

    task = Task("summarize", Summary, prompt=lambda t: [], offline=offline)
    outcomes, usage = Gateway(store).run(task, ["fine", ""])
    assert outcomes[0].ok and outcomes[0].value == Summary(summary="fine", meaningfulness=2)
    assert outcomes[1].error == "offline_error" and "nothing to summarize" in outcomes[1].detail
    assert usage.failures == {"offline_error": 1}
