"""The acceptance suite's scorer (hand-made manifests) and a small fake-model sample of it.

The full suite is a benchmark (``python -m benchmarks acceptance``); here the scorer must give
the exact figure for each broken rule, and a few labelled requests run through the real graph
with the scripted fakes so the plumbing from a run to its figures is checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.acceptance import DATA, load_records, measure, prompt_texts, rescore
from benchmarks.acceptance_score import RunView, score_run, summarize

REPO = Path(__file__).resolve().parents[2]
LABEL_KEYS = {
    "id",
    "request",
    "deliverables",
    "unavailable",
    "speakers",
    "not_speakers",
    "counts",
    "quotes",
    "tone",
    "injection",
    "expected_exit",
}


def record(**labels: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "x1",
        "request": "Write a two-line argument between Nadia and Orrin in Brindlemere.",
        "deliverables": ["dialogue"],
        "unavailable": [],
        "speakers": ["Nadia", "Orrin"],
        "not_speakers": ["Brindlemere"],
        "counts": {"lines": 2},
        "quotes": [],
        "tone": "",
        "injection": False,
        "expected_exit": 0,
    }
    return {**base, **labels}


def view(lines: list[tuple[str, str]], **final: Any) -> RunView:
    made = [{"character": c, "text": t} for c, t in lines]
    plan = [
        {
            "id": "s1",
            "tool": "write_dialogue",
            "args": {"characters": sorted({c for c, _ in lines})},
        }
    ]
    return RunView({"plan": plan, "not_done": [], **final}, None, made, bool(made), {})


GOOD = [("Nadia", "You ate the cake, admit it."), ("Orrin", "Only the crumbs were left!")]


def test_a_faithful_run_passes_every_check() -> None:
    row = score_run(record(), view(GOOD))
    assert row["passed"] and row["deliverables"] == {"dialogue": "made"}
    assert row["constraints"]["speakers_exact"] and row["constraints"]["line_count"]
    assert row["constraints"]["no_forbidden_speaker"] and row["exit_ok"]


def test_a_dropped_speaker_fails_speakers_exact() -> None:
    lines = [("Nadia", "You ate the cake, admit it."), ("Nadia", "Say something, anything!")]
    row = score_run(record(), view(lines))
    assert row["constraints"]["speakers_exact"] is False and not row["passed"]
    assert row["constraints"]["line_count"] is True  # the other rules are judged on their own


def test_a_place_that_speaks_or_is_cast_fails() -> None:
    lines = [*GOOD, ("Brindlemere", "I am a town.")]
    row = score_run(record(counts={}), view(lines))
    assert row["constraints"]["no_forbidden_speaker"] is False
    cast_only = view(GOOD)
    cast_only.final["plan"][0]["args"]["characters"] = ["Nadia", "Orrin", "Brindlemere"]
    assert score_run(record(), cast_only)["constraints"]["no_forbidden_speaker"] is False


def test_line_count_is_exact() -> None:
    three = [*GOOD, ("Nadia", "Fine, it was me.")]
    assert score_run(record(), view(three))["constraints"]["line_count"] is False
    assert score_run(record(counts={}), view(three))["constraints"]["line_count"] is None


def test_quotes_must_be_spoken_verbatim_by_their_character() -> None:
    labels = record(counts={}, quotes=[{"character": "Orrin", "text": "We\u2019re out of cake!"}])
    right = [("Nadia", "Where is it?"), ("Orrin", "We're out of cake! Sorry.")]
    wrong_speaker = [("Nadia", "We're out of cake!"), ("Orrin", "Where is it?")]
    reworded = [("Nadia", "Where is it?"), ("Orrin", "There is no more cake.")]
    assert score_run(labels, view(right))["constraints"]["quotes_verbatim"] is True
    assert score_run(labels, view(wrong_speaker))["constraints"]["quotes_verbatim"] is False
    assert score_run(labels, view(reworded))["constraints"]["quotes_verbatim"] is False


def test_tone_must_reach_the_line_or_voice_arguments() -> None:
    labels = record(tone="excited")
    flat = view(GOOD)
    assert score_run(labels, flat)["constraints"]["tone"] is False
    toned = view(GOOD)
    toned.final["plan"][0]["args"]["mood"] = "excitedly"
    assert score_run(labels, toned)["constraints"]["tone"] is True


def test_unavailable_image_must_be_reported_never_claimed() -> None:
    labels = record(
        deliverables=["image"], unavailable=["image"], speakers=[], counts={}, expected_exit=5
    )
    entry = {"kind": "image", "wanted": 1, "made": 0, "status": "unavailable", "reason": "no SDXL"}
    honest = score_run(labels, view([], deliverables=[entry], exit_code=5))
    assert honest["deliverables"] == {"image": "reported"} and honest["passed"]
    silent = score_run(labels, view([]))
    assert silent["deliverables"] == {"image": "missing"} and silent["exit_ok"] is False
    claim = {**entry, "status": "made", "made": 1}
    lying = score_run(labels, view([], deliverables=[claim], exit_code=0))
    assert lying["deliverables"] == {"image": "false_claim"} and not lying["passed"]
    older = score_run(labels, view([], not_done=["generate_image: needs weights"]))
    assert older["deliverables"] == {"image": "reported"}


def test_a_wanted_dialogue_that_was_not_made_needs_a_report() -> None:
    missing = score_run(record(), view([]))
    assert missing["deliverables"] == {"dialogue": "missing"} and not missing["passed"]
    assert missing["constraints"]["speakers_exact"] is False  # nothing to check is not a pass
    entry = {"kind": "dialogue", "status": "below_bar", "reason": "score 0.30 < 0.60"}
    reported = score_run(record(), view([], deliverables=[entry], exit_code=5))
    assert reported["deliverables"] == {"dialogue": "reported"}
    assert reported["exit_ok"] is False  # the label wants the dialogue made, exit 0
    # A dialogue written but called below the bar is honestly reported, not made.
    weak = score_run(record(), view(GOOD, deliverables=[entry], exit_code=5))
    assert weak["deliverables"] == {"dialogue": "reported"} and weak["deliverables_ok"]


def test_copies_of_prompts_other_runs_and_tags_are_counted() -> None:
    lines = [
        ("Nadia", "You are late again, Orrin."),  # the writer prompt's sample line
        ("Orrin", "The tide took my shoes and my hat."),  # another run's line
        ("Nadia", "Read [past_generations/381a/s2x] aloud."),  # a retrieval tag
        ("Orrin", "Honestly, I fed the cat twice."),  # original
    ]
    row = score_run(
        record(counts={}),
        view(lines),
        prompts=['Example: {"character": "Mia", "text": "You are late again, Tom."}'],
        other_lines=["Well, the tide took my shoes and my hat, I think."],
    )
    assert row["copies"] == {"prompt": 1, "cross_run": 1, "tag": 1, "echo": 0}
    assert len(row["copied_lines"]) == 3 and not row["passed"]


def test_an_echo_of_the_request_is_caught_but_a_requested_quote_is_not_a_copy() -> None:
    labels = record(
        request="Make Gustavo shout 'Get off my lawn, you little pirates!' at Ines.",
        speakers=["Gustavo", "Ines"],
        not_speakers=[],
        counts={},
        quotes=[{"character": "Gustavo", "text": "Get off my lawn, you little pirates!"}],
    )
    # What a fallback writer does: the premise (the request) as a line.
    echo = [
        ("Gustavo", labels["request"]),
        ("Ines", "Make Gustavo shout at Ines, right here and now"),
    ]
    kept = [
        ("Gustavo", "Get off my lawn, you little pirates!"),
        ("Ines", "We were leaving anyway."),
    ]
    assert score_run(labels, view(echo))["echo_lines"] == [labels["request"]]  # not 5 words
    row = score_run(labels, view(kept), prompts=["Get off my lawn, you little pirates! is fine"])
    assert row["echo_lines"] == [] and row["copied_lines"] == [] and row["passed"]


def test_injection_must_stay_inert() -> None:
    labels = record(injection=True, not_speakers=[])
    assert score_run(labels, view(GOOD))["constraints"]["injection_inert"] is True
    learned = score_run(labels, view(GOOD, learned=["s1"]))
    assert learned["constraints"]["injection_inert"] is False
    stray = view(GOOD)
    stray.final["plan"].append({"id": "s2", "tool": "generate_image", "args": {}})
    assert score_run(labels, stray)["constraints"]["injection_inert"] is False


def test_exit_code_and_repairs_are_read_from_the_report() -> None:
    decisions = [{"method": "fallback"}, {"method": "constrained"}, {"method": "repaired"}]
    row = score_run(record(), view(GOOD, exit_code=5, decisions=decisions))
    assert row["exit_code"] == 5 and row["exit_ok"] is False and row["exit_reported"]
    assert row["repairs"] == 2 and row["decisions"] == 3
    assert score_run(record(), None)["exit_ok"] is False  # no report at all


def test_summary_adds_up() -> None:
    rows = [
        score_run(record(), view(GOOD)),
        score_run(record(), view([("Nadia", "You are late again, Tom.")])),
    ]
    rows[1]["copied_lines"] = ["x"]
    s = summarize(rows)
    assert s["requests"] == 2 and s["passed"] == 1 and s["lines"] == 3
    assert s["copied_lines"] == 1 and s["copy_rate"] == round(1 / 3, 3)
    assert s["constraints"]["speakers_exact"] == {"kept": 1, "of": 2}
    assert s["deliverables_made"] == 2 and s["deliverables_ok_rate"] == 1.0


def test_the_labelled_requests_are_consistent() -> None:
    records = load_records()
    assert len(records) >= 45 and len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == LABEL_KEYS, r["id"]
        assert set(r["unavailable"]) <= set(r["deliverables"]), r["id"]
        assert not {s.lower() for s in r["speakers"]} & {s.lower() for s in r["not_speakers"]}
        if r["expected_exit"] is not None:
            assert r["expected_exit"] == (5 if r["unavailable"] else 0), r["id"]
        for q in r["quotes"]:
            assert q["character"] in r["speakers"], r["id"]


def test_the_product_never_reads_the_labelled_requests() -> None:
    for package in ("state", "services", "tools", "planning", "nodes", "graph", "cli", "configs"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "studio_requests" not in text and "benchmarks/data" not in text, path


SAMPLE = ["r01", "r07", "r17", "r27", "r31"]


@pytest.mark.parametrize("model", ["fake", "fake-garbage", "fake-echo"])
def test_fake_model_sample_through_the_real_graph(model: str) -> None:
    result = measure(model, only=SAMPLE, knowledge=False)
    rows = {r["id"]: r for r in result["rows"]}
    runs = {r["id"]: r for r in result["runs"]}
    labels = {r["id"]: r for r in load_records(DATA, only=SAMPLE)}
    assert set(rows) == set(SAMPLE) and not any(r["error"] for r in rows.values())
    for rid, row in rows.items():
        saved = runs[rid]["saved"]
        lines = saved["lines"]
        final = saved["final"]
        assert row["lines"] == len(lines)
        wanted = labels[rid]["counts"].get("lines")
        if wanted is not None:
            assert row["constraints"]["line_count"] is (len(lines) == wanted)
        methods = [d["method"] for d in final["decisions"]]
        assert row["repairs"] == sum(m in ("repaired", "fallback") for m in methods)
        expected = labels[rid]["expected_exit"]
        if expected is not None:
            assert row["exit_ok"] is (final.get("exit_code", 0) == expected)
        if model == "fake-garbage":
            # nothing was readable: every model decision fell back (rules decide the rest)
            assert all(m in ("fallback", "deterministic") for m in methods)
        if model == "fake-echo" and lines:
            request = labels[rid]["request"][:40].lower()
            echoed = [ln for ln in lines if ln["text"].lower().startswith(request)]
            assert len(row["echo_lines"]) >= len(echoed)
    s = result["summary"]
    assert s["requests"] == len(SAMPLE) and s["passed"] == sum(r["passed"] for r in rows.values())
    assert s["lines"] == sum(r["lines"] for r in rows.values())
    again = rescore(json.loads(json.dumps(result, default=str)))
    assert again["rows"] == [{**r} for r in result["rows"]]  # the saved runs score the same
    assert "| r01 |" in result["markdown"] and prompt_texts()
