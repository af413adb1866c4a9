"""A real `dagster-daemon run` for the benchmarks: temp DAGSTER_HOME (the repo's dagster.yaml) and store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent


class Daemon:
    def __init__(self, tmp: Path, store_url: str, *, instance_yaml_extra: str = "", **env_extra: str):
        home = tmp / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        if instance_yaml_extra:  # e.g. a tuned run_coordinator block, replacing the repo's
            text = (home / "dagster.yaml").read_text()
            text = text.replace("run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n", "")
            (home / "dagster.yaml").write_text(text + "\n" + instance_yaml_extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_"))}
        env.update(DAGSTER_HOME=str(home), BGP_HOME=str(tmp / "bgp_home"), BGP_DATABASE_URL=store_url,
                   BGP_EMBEDDING_BACKEND="hashing", **env_extra)
        self.log_path = tmp / "daemon.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.instance = dg.DagsterInstance.from_config(str(home))

    def wait_ready(self, timeout: float = 300) -> None:
        """Until the sensor daemon has evaluated a tick of new_messages_sensor."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.check()
            ticks = [t for s in self.instance.all_instigator_state() for t in self.instance.get_ticks(s.instigator_origin_id, s.selector_id, limit=1)]
            if any(s.instigator_name == "new_messages_sensor" for s in self.instance.all_instigator_state()) and ticks:
                return
            time.sleep(0.5)
        raise TimeoutError(f"daemon not ready in {timeout}s; log: {self.log_path}")

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited {self.proc.returncode}; log tail:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        self.instance.dispose()
