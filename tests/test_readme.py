"""The README is a contract: a newcomer following it top to bottom on a fresh store gets what it says.

Every ```sh block runs, in README order, in one fresh environment (temporary BGP_HOME and
DAGSTER_HOME, the repository's sample files); every ```python block runs there too. Every ```text
block is a synopsis: each `bgp` command in it exists and each --option it shows is accepted. `make`
lines are checked with `make -n` (`make run` is the long-running UI, exercised by tests/ui through the
same `bgp serve`; `make test` is this suite). An untagged block may not hold a command, so nothing
escapes the contract. A malformed setting ends in one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_COMMAND = re.compile(r"^\s*(bgp|dagster|make|python3?|\.venv/bin/\S+)(\s|$)")


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer((ROOT / "README.md").read_text(encoding="utf-8"))]


def _commands(body: str) -> list[str]:
    """Command lines of a block: comments dropped, continuation lines joined to their command."""
    out: list[str] = []
    for line in body.splitlines():
        line = re.sub(r"\s+#.*$", "", line).rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if out and line.startswith(" "):
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
    return out


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """A fresh environment as `make` sets it up: a new BGP_HOME and DAGSTER_HOME (with the shipped
    dagster.yaml), the venv first on PATH, working in a directory holding the repository's files."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("tests", "deploy", "workspace.yaml"):
        (work / name).symlink_to(ROOT / name)
    home, dhome = work / ".bgp", work / ".dagster_home"
    dhome.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dhome / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_"))}
    env.update(BGP_HOME=str(home), DAGSTER_HOME=str(dhome), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               BGP_EMBEDDING_BACKEND="hashing", PYTHONPATH=str(ROOT))  # hashing: no model load in a test
    return dict(cwd=work, env=env)


def _run(cmd: str, newcomer, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=newcomer["cwd"], env=newcomer["env"], capture_output=True,
                          text=True, timeout=timeout)


def test_no_command_hides_in_an_untagged_block():
    for lang, body in blocks():
        if lang == "":
            assert not any(_COMMAND.match(line) for line in body.splitlines()), body[:200]


def test_every_sh_and_python_block_runs_on_a_fresh_store(newcomer):
    ran = 0
    for lang, body in blocks():
        if lang == "python":
            got = subprocess.run([sys.executable, "-c", body], cwd=newcomer["cwd"], env=newcomer["env"],
                                 capture_output=True, text=True, timeout=600)
            assert got.returncode == 0, f"python block failed:\n{body}\n{got.stderr[-2000:]}"
            ran += 1
        elif lang == "sh":
            for cmd in _commands(body):
                if cmd.startswith("make "):
                    target = cmd.split()[1]
                    dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
                    assert dry.returncode == 0, f"{cmd}: {dry.stderr}"
                    if target == "run":  # the UI tests start and SIGTERM the same `bgp serve`
                        assert "bgp serve" in dry.stdout
                    continue
                got = _run(cmd, newcomer)
                assert got.returncode == 0, f"README command failed: {cmd}\n{got.stdout[-1500:]}\n{got.stderr[-2500:]}"
                ran += 1
    assert ran >= 12  # the walk really ran the README's commands
    assert (newcomer["cwd"] / "alice.html").read_text(encoding="utf-8").count("<svg") == 1  # bgp users show --html


def test_every_synopsis_matches_the_cli(newcomer):
    checked = 0
    for lang, body in blocks():
        if lang != "text":
            continue
        for cmd in _commands(body):
            if not cmd.startswith("bgp "):
                continue
            words = cmd.split()[1:]
            path = []
            for w in words:
                if not re.fullmatch(r"[a-z][a-z-]*", w):
                    break
                path.append(w)
            got = _run("bgp " + " ".join(path) + " --help", newcomer, timeout=120)
            assert got.returncode == 0, f"{cmd}: no such command ({got.stderr.strip()})"
            for option in re.findall(r"--[a-z][a-z-]*", cmd):
                assert option in got.stdout, f"{cmd}: {option} is not an option of `bgp {' '.join(path)}`"
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("cmd", ["bgp demo-data", "bgp serve --port 1"])
def test_a_malformed_setting_ends_in_one_line_naming_it(newcomer, cmd):
    env = dict(newcomer["env"], SUMMARY_MESSAGE_THRESHOLD="twenty")
    got = subprocess.run(["bash", "-c", cmd], cwd=newcomer["cwd"], env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode != 0
    lines = [line for line in got.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in got.stderr, got.stderr
    assert "SUMMARY_MESSAGE_THRESHOLD" in lines[0] and "expected a whole number" in lines[0]
