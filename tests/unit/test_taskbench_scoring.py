"""Hand-worked checks of the TaskBench scorer (expected numbers derived in the comments)."""

from __future__ import annotations

import pytest

from benchmarks.taskbench.scoring import (
    Scores,
    ToolTable,
    content_type,
    indel_ratio,
    score,
    score_sample,
)

TOOLS = ToolTable(
    names=(
        "Image-to-Text",
        "Text Summarizer",
        "Text-to-Image",
        "Video Speed Changer",
        "Image Search",
    ),
    output_type={
        "Image-to-Text": "text",
        "Text Summarizer": "text",
        "Text-to-Image": "image",
        "Video Speed Changer": "video",
        "Image Search": "Image",
    },
)


def node(task: str, *args: object) -> dict[str, object]:
    return {"task": task, "arguments": list(args)}


def test_content_type_is_a_substring_test_including_the_au_quirk() -> None:
    assert content_type("example.jpg") == "image"
    assert content_type("'example.wav'") == "audio"
    assert content_type("clip.mp4") == "video"
    assert content_type("notes.aux") == "audio"  # ".au" inside ".aux": upstream quirk
    assert content_type("a sunny beach") == "text"


def test_indel_ratio_matches_levenshtein_ratio() -> None:
    # [1,2,3] vs [1,3]: LCS 2 -> 2*2/(3+2) = 0.8 (one deletion over 5 symbols)
    assert indel_ratio([1, 2, 3], [1, 3]) == pytest.approx(0.8)
    # a substitution costs 2: [1] vs [2] -> LCS 0 -> 0.0
    assert indel_ratio([1], [2]) == 0.0
    assert indel_ratio([], []) == 1.0
    # [1,2] vs [2,1]: LCS 1 -> 2/4 = 0.5
    assert indel_ratio([1, 2], [2, 1]) == 0.5


def test_one_chain_sample_by_hand() -> None:
    gold = {
        "id": "a",
        "type": "chain",
        "task_nodes": [
            node("Image-to-Text", "example.jpg"),
            node("Text Summarizer", "<node-0>"),
        ],
    }
    pred = [
        node("Image-to-Text", "example.png"),
        node("Text Summarizer", "<node-0>"),
        node("Text-to-Image", "<node-1>"),
        node("Made Up Tool", "<node-2>"),
    ]
    s = Scores()
    assert score_sample(gold, pred, TOOLS, s)
    # nodes: gold {I2T, Sum}; pred known {I2T, Sum, T2I}; "Made Up Tool" is ignored
    #   TP 2, FP 1, FN 0 -> F1 = 4/5 = 0.8
    assert (s.nodes.tp, s.nodes.fp, s.nodes.fn) == (2, 1, 0)
    assert s.nodes.f1 == pytest.approx(0.8)
    # links: gold {(I2T,Sum)}; pred {(I2T,Sum),(Sum,T2I),(T2I,Made Up Tool)}
    #   TP 1, FP 2 -> F1 = 2/(2+2) = 0.5 (unknown tools DO count in links)
    assert s.links.f1 == pytest.approx(0.5)
    # t-F1 strings: gold {I2T-image, Sum-text}; pred {I2T-image, Sum-text, T2I-text,
    #   Made Up Tool-image}  -> TP 2, FP 2 -> 4/6
    assert s.arg_names.f1 == pytest.approx(4 / 6)
    # v-F1: gold {I2T-image-example.jpg, Sum-text-Image-to-Text}; pred has example.png
    #   -> TP 1 (the reference), FP 3, FN 1 -> 2/(2+3+1) = 1/3
    assert s.arg_values.f1 == pytest.approx(1 / 3)
    # ED: pred ids [1,2,3,0] vs gold [1,2]: LCS 2 -> ratio 4/6 -> ED 1/3
    assert s.as_dict()["ed"] == pytest.approx(1 - 4 / 6, abs=1e-4)


def test_links_come_from_references_not_task_links() -> None:
    gold = {
        "id": "b",
        "type": "chain",
        "task_links": [{"source": "Image-to-Text", "target": "Text Summarizer"}],
        "task_nodes": [node("Image-to-Text", "example.jpg"), node("Text Summarizer", "<node0>")],
    }  # no dash: not a reference
    s = Scores()
    assert score_sample(gold, gold["task_nodes"], TOOLS, s)
    # no links on either side -> the link counts stay empty, F1 reported as 0
    assert (s.links.tp, s.links.fp, s.links.fn) == (0, 0, 0)
    # "<node0>" is plain text: Sum-text-<node0> is an ordinary value on both sides
    assert s.arg_values.f1 == 1.0


def test_self_reference_is_dropped_and_output_type_is_the_sources_first_type() -> None:
    gold = {
        "id": "c",
        "type": "chain",
        "task_nodes": [node("Image Search", "cats"), node("Image-to-Text", "<node-0>", "<node-1>")],
    }
    s = Scores()
    assert score_sample(gold, [node("Image Search", "cats")], TOOLS, s)
    # gold strings: ISearch-text, I2T-Image (capital I from tool_desc; self ref dropped)
    # pred strings: ISearch-text -> TP 1, FN 1 -> 2/3
    assert s.arg_names.f1 == pytest.approx(2 / 3)


def test_non_string_argument_repeats_the_previous_pair() -> None:
    gold = {
        "id": "d",
        "type": "single",
        "task_nodes": [node("Video Speed Changer", "example.mp4", 2)],
    }
    s = Scores()
    assert score_sample(gold, [node("Video Speed Changer", "example.mp4")], TOOLS, s)
    # the 2 fails to convert; the previous pair (video, example.mp4) is appended again,
    # so as a set the gold equals the prediction: v-F1 = 1
    assert s.arg_values.f1 == 1.0


def test_non_string_first_argument_skips_the_sample() -> None:
    gold = {"id": "e", "type": "single", "task_nodes": [node("Video Speed Changer", 2)]}
    s = Scores()
    assert not score_sample(gold, [node("Video Speed Changer", "x")], TOOLS, s)
    assert (s.samples, s.skipped) == (0, 1)


def test_dict_and_string_arguments() -> None:
    # a dict argument list: iterating a dict gives its keys (upstream iterates it as is)
    gold = {
        "id": "f",
        "type": "single",
        "task_nodes": [{"task": "Text Summarizer", "arguments": ["x", {"k": "hello"}]}],
    }
    s = Scores()
    assert score_sample(gold, [node("Text Summarizer", "x", "hello")], TOOLS, s)
    # {"k": "hello"} -> its first value "hello": both sides {Sum-text-x, Sum-text-hello}
    assert s.arg_values.f1 == 1.0


def test_scores_by_type_and_only_predicted_ids() -> None:
    records = [
        {"id": "1", "type": "single", "task_nodes": [node("Text-to-Image", "a cat")]},
        {
            "id": "2",
            "type": "chain",
            "task_nodes": [node("Image-to-Text", "a.jpg"), node("Text Summarizer", "<node-0>")],
        },
        {"id": "3", "type": "dag", "task_nodes": [node("Image Search", "dogs")]},
    ]
    preds = {
        "1": [node("Text-to-Image", "a cat")],
        "2": [node("Image-to-Text", "a.jpg")],
    }  # "3" has no prediction: not scored
    out = score(records, preds, TOOLS)
    assert out["overall"]["samples"] == 2 and out["dag"]["samples"] == 0
    # overall nodes: TP 2 (T2I, I2T), FN 1 (Sum) -> 4/5 = 80
    assert out["overall"]["n_f1"] == 80.0
    assert out["single"]["n_f1"] == 100.0
    # chain: one gold link, none predicted -> 0; ED chain: [1] vs [1,2] -> 1 - 2/3
    assert out["chain"]["e_f1"] == 0.0
    assert out["chain"]["ed"] == pytest.approx(1 / 3, abs=1e-4)
