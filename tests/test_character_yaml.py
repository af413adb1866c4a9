"""Characters from YAML and the CLI: the sample file loads, errors name file, line and field and write
nothing, `set` changes only the fields it is given, `list` prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from background_pipelines.characters_yaml import CharacterFileError, parse_characters
from background_pipelines.cli import main
from background_pipelines.store.messages import list_characters

SAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "characters.yaml"


def _by_name(store) -> dict[str, dict]:
    return {c["name"]: c for c in list_characters(store)}


def test_the_sample_file_loads_and_reloading_updates_in_place(bgp_env, store, capsys):
    assert main(["characters", "load", str(SAMPLE)]) == 0
    assert "3 created (Aria, Rex, Mika)" in capsys.readouterr().out
    chars = _by_name(store)
    assert chars["Rex"]["timezone"] == "America/New_York" and chars["Rex"]["goals"] == ["Get someone new to try sailing"]
    assert chars["Mika"]["goals"] == [] and "lowercase" in chars["Mika"]["voice"]
    assert main(["characters", "load", str(SAMPLE)]) == 0
    assert "0 created (-), 3 updated" in capsys.readouterr().out
    assert len(list_characters(store)) == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ("characters:\n  - name: A\n  - name: B\n    timezone: Europe/Nowhere\n", r"x\.yaml:4: character 'B', field 'timezone': unknown timezone 'Europe/Nowhere'"),
        ("characters:\n  - name: A\n    mood: sunny\n", r"x\.yaml:3: character 'A', field 'mood': unknown field"),
        ("- name: A\n- name: A\n", r"x\.yaml:2: character 'A' is defined twice \(first at line 1\)"),
        ("- persona: nameless\n", r"x\.yaml:1: character '#1', field 'name'"),
        ("- name: A\n  goals: [ok, '  ']\n", r"x\.yaml:2: character 'A', field 'goals': a goal is empty"),
        ("characters: {name: A}\n", r"x\.yaml: expected a non-empty list"),
        ("- name: A\n  persona: [unclosed\n", r"x\.yaml:\d+: not valid YAML"),
    ],
)
def test_bad_files_are_refused_naming_file_line_and_field(text, message):
    with pytest.raises(CharacterFileError, match=message):
        parse_characters(text, "x.yaml")


def test_a_bad_entry_writes_nothing_and_exits_2(bgp_env, store, tmp_path, capsys):
    bad = tmp_path / "cast.yaml"
    bad.write_text("characters:\n  - name: Good\n    timezone: UTC\n  - name: Bad\n    timezone: Nowhere/Land\n")
    assert main(["characters", "load", str(bad)]) == 2
    assert "cast.yaml:5" in capsys.readouterr().err
    assert list_characters(store) == []


def test_set_creates_then_changes_only_the_given_fields(bgp_env, store, capsys):
    assert main(["characters", "set", "Nova", "--persona", "A stargazer.", "--timezone", "Asia/Tokyo", "--goal", "Name a comet"]) == 0
    assert main(["characters", "set", "Nova", "--voice", "dreamy"]) == 0
    nova = _by_name(store)["Nova"]
    assert (nova["persona"], nova["voice"], nova["timezone"], nova["goals"]) == ("A stargazer.", "dreamy", "Asia/Tokyo", ["Name a comet"])
    assert main(["characters", "set", "Nova", "--goal", "Map the sky", "--goal", "Sleep more"]) == 0
    assert _by_name(store)["Nova"]["goals"] == ["Map the sky", "Sleep more"]
    assert main(["characters", "set", "Nova", "--clear-goals"]) == 0
    assert _by_name(store)["Nova"]["goals"] == []
    assert main(["characters", "set", "Nova", "--timezone", "Moon/Base"]) == 2
    assert "'Moon/Base'" in capsys.readouterr().err and _by_name(store)["Nova"]["timezone"] == "Asia/Tokyo"
    assert main(["characters", "list"]) == 0
    assert "Nova" in capsys.readouterr().out
