"""A run launcher that fails its first `failures` launches, as a code server that is unreachable or
past its gRPC deadline under load does, then launches like Dagster's DefaultRunLauncher. Configured in
a test's dagster.yaml (`run_launcher: {module: flaky_launcher, class: FlakyRunLauncher}`); launches
are counted in a file so every daemon thread and process sees the same count."""

from __future__ import annotations

import fcntl
from pathlib import Path

from dagster import Field
from dagster._core.launcher import DefaultRunLauncher

FAILURE = "code server unavailable while launching (injected by the test's run launcher)"


class FlakyRunLauncher(DefaultRunLauncher):
    def __init__(self, inst_data=None, failures: int = 1, state_dir: str = ""):
        super().__init__(inst_data=inst_data)
        self.failures, self.state = failures, Path(state_dir) / "launches.txt"

    @classmethod
    def config_type(cls):
        return {"failures": Field(int, default_value=1), "state_dir": Field(str)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context) -> None:
        with open(self.state, "a+") as f:  # count under a lock: dequeue runs in several threads
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            n = len(f.read().splitlines())
            f.write(f"{context.dagster_run.run_id}\n")
        if n < self.failures:
            raise RuntimeError(FAILURE)
        super().launch_run(context)
