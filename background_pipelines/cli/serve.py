"""`bgp serve`: run `dagster dev` (webserver, daemon, code servers) so that Ctrl+C or SIGTERM stops
every process it started. `dagster dev` alone can linger after SIGTERM with its children running;
here the whole process group gets SIGTERM, then SIGKILL after a grace period. `make run` uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 10.0
# A loaded machine answers slowly; these let it be slow instead of failing. Dagster's defaults (60 s per
# gRPC call, a code server shutting down after 30 s without a heartbeat) turn a busy minute into
# failed sensor ticks, failed launches and a code location stuck in "Failed". Set only when unset.
SLOW_MACHINE_ENV = {
    "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": "300",
    "DAGSTER_SCHEDULE_GRPC_TIMEOUT_SECONDS": "300",
    "DAGSTER_PROXY_SERVER_HEARTBEAT_TIMEOUT": "120",
}


def register(sub) -> None:
    p = sub.add_parser("serve", help="start the Dagster UI and daemon (dagster dev); Ctrl+C or SIGTERM stops all of it")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="interface to bind (default $HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000") or 3000), help="port (default $PORT or 3000)")
    p.add_argument("--workspace", default="workspace.yaml", help="workspace file (default workspace.yaml)")
    p.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds to wait after SIGTERM before SIGKILL")
    p.set_defaults(func=_serve)


def _serve(args) -> int:
    from background_pipelines.config import ConfigError, Settings

    try:  # a malformed setting ends here in one line, not in a code-location traceback in the UI
        Settings.from_env()
    except ConfigError as exc:
        print(f"bgp serve: {exc}", file=sys.stderr)
        return 2
    dagster = Path(sys.executable).with_name("dagster")
    argv = [str(dagster if dagster.exists() else "dagster"), "dev", "-w", args.workspace, "-h", args.host, "-p", str(args.port)]
    return supervise(argv, grace=args.grace)


def supervise(argv: list[str], *, grace: float = GRACE_SECONDS) -> int:
    """Run `argv` in its own process group until it exits or we get SIGINT/SIGTERM; then stop the
    whole group (SIGTERM, SIGKILL after `grace` s) and return 0 for a requested stop, else its code."""
    env = {**SLOW_MACHINE_ENV, **os.environ}
    proc = subprocess.Popen(argv, start_new_session=True, env=env)
    stopping = {"signal": None}

    def _stop(signum, _frame):
        stopping["signal"] = signum

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while proc.poll() is None and stopping["signal"] is None:
            time.sleep(0.2)
        if stopping["signal"] is None:
            _kill_group(proc, grace)  # the leader exited: take any leftover children with it
            return proc.returncode
        print(f"bgp serve: stopping ({signal.Signals(stopping['signal']).name})", file=sys.stderr)
        _kill_group(proc, grace)
        proc.wait()
        return 0
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _kill_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the process group of `proc`, SIGKILL after `grace` s if anything is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, or the group looks alive through its zombie
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
