"""One `dagster dev` (webserver + daemon) for the UI tests, on a free port with a temporary
DAGSTER_HOME and store, and one headless Debian chromium driven by Playwright.

Without chromium or playwright the tests skip, unless BGP_UI_TESTS=required (CI sets it): then they
fail, so a CI machine that lost its browser cannot pass silently."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BGP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_DAY = "2026-11-01"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[ui]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ui_env(tmp_path_factory):
    why = _missing()
    if why:
        if os.environ.get("BGP_UI_TESTS") == "required":
            pytest.fail(f"UI tests required but {why}")
        pytest.skip(why)
    base = tmp_path_factory.mktemp("ui")
    home, dhome = base / "bgp", base / "dagster_home"
    home.mkdir()
    dhome.mkdir()
    (dhome / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_"))}
    env.update(BGP_HOME=str(home), DAGSTER_HOME=str(dhome), BGP_DATABASE_URL=f"sqlite:///{home / 'store.db'}",
               BGP_START_DATE=START_DAY, BGP_EMBEDDING_BACKEND="hashing", BGP_AUTOMATION_DEFAULT_STATUS="stopped",
               BGP_EMBED_ON_WRITE="never")
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "bgp"), "demo-data"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return dict(env=env, home=home, dagster_home=dhome, bin=bin_dir)


def _leftovers(marker: str) -> list[int]:
    """Pids whose command line names `marker` (the temporary DAGSTER_HOME every child is given)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker in (d / "cmdline").read_bytes().decode("utf-8", "replace"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.fixture(scope="session")
def webserver(ui_env):
    """The UI's base URL, served by `bgp serve` (what `make run` uses). At the end it gets SIGTERM, as
    `make run` does from a terminal or a service manager, and must leave no process behind."""
    port = _free_port()
    log = open(ui_env["home"] / "dagster_dev.log", "wb")
    proc = subprocess.Popen(
        [str(ui_env["bin"] / "bgp"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=ui_env["env"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # loaded CI machines take minutes to load the code location
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {proc.returncode}: see {log.name}")
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster dev did not answer on {url} within 300 s: see {log.name}")
            time.sleep(2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = None
        left = _leftovers(str(ui_env["dagster_home"]))
        for pid in left:  # never leave them running, even when the check below fails
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        assert code == 0 and not left, f"bgp serve exit {code}, processes left after SIGTERM: {left}"


@pytest.fixture(scope="session")
def browser(ui_env):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, webserver):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    # a new instance greets its first visitors with a community sign-up dialog over the page: close it
    # whenever it shows up, before the step that would be blocked by it
    pg.add_locator_handler(pg.get_by_text("Join the Dagster community"),
                           lambda _: pg.get_by_role("button", name="Skip").click())
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def instance(ui_env, webserver):
    """The same Dagster instance the UI uses, to check what a launch really did."""
    import dagster as dg

    inst = dg.DagsterInstance.from_config(str(ui_env["dagster_home"]))
    yield inst
    inst.dispose()
