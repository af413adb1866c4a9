"""The cluster shape of deploy/cluster/ as processes on one machine: a `dagster api grpc` code server,
dagster-webserver, one dagster-daemon and N celery workers over Redis, on a PostgreSQL instance.
Used by tests/test_cluster.py and benchmarks/scale_out.py; `python deploy/local_cluster.py` runs it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}"""
_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions }
    ... on Error { message }
  }
}"""
LOCATION = "background_pipelines"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class LocalCluster:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    home: Path  # a fresh directory: DAGSTER_HOME, BGP_HOME and the logs live under it
    dagster_pg: dict[str, str]  # DAGSTER_PG_HOST/PORT/USER/PASSWORD/DB values
    store_url: str
    redis_url: str  # a Redis database for the broker; the next database number holds results
    workers: int = 2
    executor: str = "celery"
    worker_concurrency: int = 1
    pools: dict[str, int] = field(default_factory=lambda: {"llm": 4, "sensory": 8, "social": 8, "action": 4, "cognition": 4})
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    webserver_port: int = 0

    # -- environment ----------------------------------------------------------------------------------
    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    def env(self) -> dict[str, str]:
        base, _, db = self.redis_url.rpartition("/")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            **{f"DAGSTER_PG_{k}": v for k, v in self.dagster_pg.items()},
            "BGP_DATABASE_URL": self.store_url,
            "BGP_HOME": str(self.home / "bgp_home"),
            "BGP_EXECUTOR": self.executor,
            "BGP_CELERY_BROKER_URL": self.redis_url,
            "BGP_CELERY_BACKEND_URL": f"{base}/{int(db) + 1}",
            "BGP_EMBEDDING_BACKEND": os.environ.get("BGP_EMBEDDING_BACKEND", "hashing"),
            # nothing starts runs but the backfill under test
            "BGP_AUTOMATION_DEFAULT_STATUS": "stopped",
            "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
            "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": "300",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **self.extra_env,
        }
        env.pop("BGP_TEST_DATABASE_URL", None)
        return env

    # -- processes ------------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> Proc:
        log = self.home / f"{name}.log"
        # own session: stop() signals the whole group it started (celery forks its pool children)
        popen = subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
                                 start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _wait(self, proc: Proc, ready, what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode} before {what}: {proc.log.read_text()[-2000:]}")
            if ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"{proc.name}: no {what} after {timeout:.0f} s; log {proc.log}")

    def start(self) -> "LocalCluster":
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", self.dagster_home / "dagster.yaml")
        grpc_port, self.webserver_port = free_port(), free_port()
        workspace = yaml.safe_load((ROOT / "deploy" / "cluster" / "workspace.yaml").read_text())
        workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
        ws_path = self.dagster_home / "workspace.yaml"
        ws_path.write_text(yaml.safe_dump(workspace))
        subprocess.run([str(BIN / "bgp"), "db", "upgrade"], cwd=ROOT, env=self.env(), check=True, capture_output=True, timeout=300)
        with self.instance() as instance:  # what deploy/cluster/pools.sh does, without 5 CLI start-ups
            for pool, limit in self.pools.items():
                instance.event_log_storage.set_concurrency_slots(pool, limit)

        code = self._spawn("code", [str(BIN / "dagster"), "api", "grpc", "-h", "127.0.0.1", "-p", str(grpc_port),
                                    "-m", "background_pipelines.definitions", "-a", "defs"])
        self._wait(code, lambda: subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(grpc_port)],
                                                env=self.env(), capture_output=True, timeout=120).returncode == 0, "gRPC health")
        web = self._spawn("webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.webserver_port), "-w", str(ws_path)])
        self._wait(web, self._webserver_ready, "HTTP")
        self._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(ws_path)])
        for i in range(self.workers if self.executor == "celery" else 0):
            w = self._spawn(f"worker{i + 1}", [
                str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                "-y", str(ROOT / "deploy" / "cluster" / "celery.yaml"), "-n", f"w{i + 1}", "--",
                f"--concurrency={self.worker_concurrency}",
            ])
            self._wait(w, lambda w=w: " ready." in w.log.read_text(errors="replace"), "celery ready")
        return self

    def _webserver_ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.webserver_port}/server_info", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 60) -> dict[str, str]:
        """SIGTERM every process group this cluster started, newest first; SIGKILL after `timeout`.
        Returns {process: "exit N" | "killed"}."""
        codes: dict[str, str] = {}
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                os.killpg(proc.popen.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
                codes[proc.name] = f"exit {proc.popen.returncode}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(10)
                codes[proc.name] = "killed"
        self.procs.clear()
        return codes

    def __enter__(self) -> "LocalCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the GraphQL API the UI uses ----------------------------------------------------------------------
    def graphql(self, query: str, variables: dict) -> dict:
        r = httpx.post(f"http://127.0.0.1:{self.webserver_port}/graphql", json={"query": query, "variables": variables}, timeout=120)
        r.raise_for_status()
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_backfill(self, partitions: list[str], *, job: str | None = None, assets: list[str] | None = None) -> str:
        """Launch a backfill as the UI does: of a job's partition set, or of selected assets."""
        params: dict = {"partitionNames": partitions}
        if job:
            params["selector"] = {"partitionSetName": f"{job}_partition_set",
                                  "repositorySelector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}}
        if assets:
            params["assetSelection"] = [{"path": [a]} for a in assets]
        out = self.graphql(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        if out["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {out}")
        return out["backfillId"]

    def wait_backfill(self, backfill_id: str, timeout: float = 1800) -> str:
        """The backfill's final status (COMPLETED_SUCCESS, COMPLETED_FAILED, FAILED, ...)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.graphql(_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
            status = out.get("status")
            if status and status not in ("REQUESTED", "CANCELING"):
                return status
            for proc in self.procs:
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{proc.name} died ({proc.popen.returncode}): {proc.log.read_text()[-2000:]}")
            time.sleep(2)
        raise TimeoutError(f"backfill {backfill_id} not done after {timeout:.0f} s")

    def instance(self):
        """The Dagster instance, read from Python (the test's and the benchmark's view of runs)."""
        import dagster as dg

        saved = {f"DAGSTER_PG_{k}": os.environ.get(f"DAGSTER_PG_{k}") for k in self.dagster_pg}
        os.environ.update({f"DAGSTER_PG_{k}": v for k, v in self.dagster_pg.items()})
        try:
            return dg.DagsterInstance.from_config(str(self.dagster_home))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@dataclass
class BackfillStats:
    runs: int
    statuses: dict[str, int]
    steps: int
    steps_per_worker: dict[str, int]  # celery worker name (or "run process") -> steps
    max_concurrent_per_pool: dict[str, int]
    wall_seconds: float


def backfill_stats(instance, backfill_id: str, pools: dict[str, str]) -> BackfillStats:
    """What the backfill's runs did: run statuses, which worker ran each step, and the most steps
    of each pool that were running at one moment (from STEP_START to STEP_SUCCESS/FAILURE)."""
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    statuses: dict[str, int] = {}
    per_worker: dict[str, int] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    first, last = float("inf"), 0.0
    steps = 0
    for run in runs:
        statuses[run.status.value] = statuses.get(run.status.value, 0) + 1
        starts: dict[str, float] = {}
        for rec in instance.get_records_for_run(run.run_id).records:
            e = rec.event_log_entry
            ev = e.dagster_event
            if ev is None:
                continue
            first, last = min(first, e.timestamp), max(last, e.timestamp)
            if ev.event_type_value == "ENGINE_EVENT" and "in celery worker" in (ev.message or ""):
                md = ev.event_specific_data.metadata or {}
                worker = md.get("Celery worker")
                name = str(getattr(worker, "value", worker)).split("@")[0]
                per_worker[name] = per_worker.get(name, 0) + 1
            elif ev.event_type_value == "STEP_START":
                starts[e.step_key] = e.timestamp
                steps += 1
            elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and e.step_key in starts:
                spans.setdefault(pools.get(e.step_key, "?"), []).append((starts.pop(e.step_key), e.timestamp))
    if not per_worker and steps:
        per_worker["run process"] = steps
    peak: dict[str, int] = {}
    for pool, intervals in spans.items():
        points = sorted([(s, 1) for s, _ in intervals] + [(t, -1) for _, t in intervals], key=lambda p: (p[0], p[1]))
        cur = best = 0
        for _, d in points:
            cur += d
            best = max(best, cur)
        peak[pool] = best
    return BackfillStats(len(runs), statuses, steps, per_worker, peak, (last - first) if runs else 0.0)


def step_pools() -> dict[str, str]:
    """{step key: pool} of every asset and check step, from the code location itself."""
    from background_pipelines.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    return {node.name: node.definition.pool or "default" for node in job.graph.nodes if hasattr(node.definition, "pool")}


if __name__ == "__main__":  # a cluster to look at in the browser; Ctrl-C stops it
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--store-url", required=True, help="BGP_DATABASE_URL of the store (PostgreSQL)")
    ap.add_argument("--dagster-db", default="dagster", help="PostgreSQL database for Dagster's storage")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    pg = {"HOST": "127.0.0.1", "PORT": "5432", "USER": "postgres", "PASSWORD": "", "DB": args.dagster_db}
    with LocalCluster(Path(tempfile.mkdtemp(prefix="bgp_cluster_")), pg, args.store_url, args.redis_url, workers=args.workers) as c:
        print(f"webserver http://127.0.0.1:{c.webserver_port}  logs {c.home}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
