"""The endpoint probe as an asset: each materialization records every configured endpoint's status,
HTTP status and latency; a refused key (401/403), an exhausted quota or an unreachable endpoint fails
the run (so the failure webhook alerts). The offline backend is reported skipped, and the run is green."""

from __future__ import annotations

import dagster as dg

from assets._common import asset_args
from assets.errors import retry_only_healable
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings

PROBE = "probe"  # bgp/trigger of the probe job (sensors/probe.py)


def definitions(settings: Settings) -> dg.Definitions:
    args = asset_args(settings, group_name="operations", latency=ACTION, calls_llm=False, trigger=PROBE, daily=False,
                      owners=["team:platform"])
    args["kinds"] = {"python", "openai" if settings.llm_base_url else "llm"}

    @dg.asset(
        name="endpoint_probe",
        description=(
            "Every 2 h: one cheap real request to each configured endpoint (a 1-token chat completion, a 1-text "
            "embedding) with its key; records status, HTTP status and latency. A refused key (401/403), no quota or "
            "an unreachable endpoint fails the run, naming the endpoint (never the key); the offline backend and "
            "local embedders are skipped with the reason."
        ),
        **args,
    )
    def endpoint_probe(store: StoreResource) -> dg.MaterializeResult:
        # at use: the probe brings the HTTP client, which loading the code location should not
        from background_pipelines.probe import OK, SKIPPED, failures, preview, probe_endpoints

        with retry_only_healable("endpoint_probe"):
            probes = probe_endpoints(store.settings())
        meta: dict = {"preview": dg.MetadataValue.md(preview(probes)), "dagster/row_count": len(probes)}
        for p in probes:
            meta[f"{p.name}_status"] = p.status
            if p.endpoint:
                meta[f"{p.name}_endpoint"] = p.endpoint
            if p.http_status is not None:
                meta[f"{p.name}_http_status"] = p.http_status
            if p.latency_ms is not None:
                meta[f"{p.name}_latency_ms"] = dg.MetadataValue.float(p.latency_ms)
            if p.reason:
                meta[f"{p.name}_reason"] = p.reason[:500]
        meta["ok"] = sum(p.status == OK for p in probes)
        meta["skipped"] = sum(p.status == SKIPPED for p in probes)
        bad = failures(probes)
        meta["failed"] = len(bad)
        if bad:  # retrying a refused key only delays the alert
            raise dg.Failure(description="endpoint probe failed: " + "; ".join(p.summary() for p in bad),
                             metadata=meta, allow_retries=False)
        return dg.MaterializeResult(metadata=meta)

    return dg.Definitions(assets=[endpoint_probe])
