"""memory_eval.py reads real files in the LoCoMo-style layout with their quirks: every odd thing is
counted and reported, nothing crashes and nothing is dropped silently."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import memory_eval  # noqa: E402


def _file(tmp_path, sample) -> str:
    path = tmp_path / "conv.json"
    path.write_text(json.dumps([sample]))
    return str(path)


def test_quirks_of_real_files_are_counted_not_fatal(tmp_path):
    conv = {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a greyhound called Comet yesterday"},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "", "img_url": ["https://x.invalid/a.jpg"],
             "blip_caption": "a photo of a dog on a sofa", "query": "dog"},
            {"speaker": "Ben", "text": "no dia id here"},
            {"speaker": "Ana", "dia_id": "D1:3", "text": ""},
        ],
        # session 2 missing: numbers skip; session 3 has no date; session 4 is dated but empty
        "session_3": [{"speaker": "Ben", "dia_id": "D3:1", "text": "My sister moved to Oslo"}],
        "session_4_date_time": "9:00 am on 1 June, 2023",
        "session_4": [],
    }
    qa = [
        {"question": "What is Ana's dog called?", "answer": "Comet", "evidence": ["D1:1"], "category": 4},
        {"question": "What did Ana name her cat?", "adversarial_answer": "Comet", "evidence": ["D1:1; D1:2"], "category": 5},
        {"question": "Where does Ben's sister live?", "answer": "Oslo", "evidence": ["D3:1", "D9:9"], "category": 1},
        {"question": "Who?", "answer": "x", "evidence": ["D7:1"], "category": 4},
        {"answer": "no question"},
        {"question": "No category?", "answer": "y", "evidence": ["D1:1"]},
    ]
    [s] = memory_eval.read_samples(_file(tmp_path, {"sample_id": "s1", "conversation": conv, "qa": qa}))
    assert [t.dia_id for t in s.turns] == ["D1:1", "D1:2", "D3:1"]
    assert s.turns[1].text == "[shares a photo: a photo of a dog on a sofa]" and s.turns[1].role == "character"
    assert s.turns[2].at.date().isoformat() == "2023-05-09"  # undated: a day after the previous session
    assert [q.evidence for q in s.questions] == [["D1:1"], ["D1:1", "D1:2"], ["D3:1"], ["D1:1"]]
    assert [q.category for q in s.questions] == [4, 5, 1, 0]
    assert s.questions[1].answer == "Comet"
    p = dict(s.problems)
    assert p == {"captioned_turns": 1, "bad_turn": 1, "empty_turn": 1, "undated_session": 1, "dated_empty_session": 1,
                 "malformed_evidence": 1, "missing_evidence": 2, "no_evidence": 1, "no_question": 1, "no_category": 1,
                 "no_answer": 1}


def test_malformed_layout_names_the_sample(tmp_path):
    try:
        memory_eval.read_samples(_file(tmp_path, {"conversation": {"speaker_a": "Ana"}}))
    except memory_eval.LayoutError as exc:
        assert "[0].conversation" in str(exc) and "speaker_b" in str(exc)
    else:
        raise AssertionError("a conversation without speaker_b must be refused")


def test_category_names_are_printed_and_configurable(tmp_path, capsys):
    path = _file(tmp_path, {"conversation": {"speaker_a": "Ana", "speaker_b": "Ben", "session_1_date_time": "2023-05-08T10:00:00",
                                             "session_1": [{"speaker": "Ana", "dia_id": "D1:1", "text": "hello there"}]},
                            "qa": [{"question": "hello?", "answer": "hi", "evidence": ["D1:1"], "category": 2}]})
    assert memory_eval.main([path, "--categories", "1=single-hop,2=multi-hop", "--embedder", "hashing"]) == 0
    out = capsys.readouterr().out
    assert "1 = single-hop, 2 = multi-hop" in out and "2 multi-hop" in out and "memory_eval:" in out


def test_chitchat_questions_are_real_questions_taken_out_with_the_real_reply_as_evidence():
    [s] = memory_eval.chitchat_samples(1, sessions=3, per_sample=10)
    texts = {t.text for t in s.turns}
    by_dia = {t.dia_id: t for t in s.turns}
    assert s.questions and len(s.sessions) == 3
    for q in s.questions:
        assert "?" in q.text and q.text not in texts  # asked of recall(), no longer in the conversation
        [ev] = q.evidence
        session, n = ev[1:].split(":")
        assert f"D{session}:{int(n) - 1}" not in by_dia  # the question's own place, now empty
        assert by_dia[ev].speaker in ("Robin", "Quinn")
