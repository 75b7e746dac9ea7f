import pytest

from nodes.common import RequestError
from nodes.understand import (
    DEFAULT_QUESTION,
    IntentDraft,
    merge_intent,
    rule_deliverables,
    understand,
)
from planning.constraints import classify_names
from services.fake_llm import FakeChatModel

DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def draft(**kw: object) -> IntentDraft:
    base = dict(
        goal="g",
        deliverables=[],
        characters=[],
        setting="",
        mood="",
        needs_web=False,
        confidence=0.5,
        question="",
    )
    base.update(kw)
    return IntentDraft.model_validate(base)


def test_rules_read_the_demo() -> None:
    assert classify_names(DEMO) == (["Luca", "Alberto"], [])
    assert rule_deliverables(DEMO) == ["dialogue", "voice", "image", "scene"]
    assert rule_deliverables("A radio play scene where Mia and Tom argue") == [
        "dialogue",
        "voice",
        "scene",
    ]
    assert rule_deliverables("How many in-betweens do two keyframes need?") == ["answer"]
    # asked to be told: an answer, even when the topic names things the studio makes
    assert rule_deliverables("Compare a keyframe and a breakdown pose.") == ["answer"]
    assert rule_deliverables("Tell me a fun fact about cel animation.") == ["answer"]
    assert rule_deliverables("Explain when to use a storyboard panel.") == ["answer"]
    # ... unless it asks for something to be made
    assert rule_deliverables("Describe Ugo, then draw him waving.") == ["image"]
    intent = merge_intent(DEMO, draft(characters=["Luca", "Luigi"], confidence=0.0))
    assert intent.characters == ["Luca", "Alberto"]  # Luigi is not in the request
    assert intent.setting == "on the beach at sunset"
    assert intent.confidence >= 0.7


def test_character_spellings_are_merged() -> None:
    intent = merge_intent(DEMO, draft(characters=["luca", "Luca", "ALBERTO", "a"]))
    assert intent.characters == ["Luca", "Alberto"]


def test_vague_request_is_unclear() -> None:
    intent = merge_intent("hmm", draft(confidence=1.0, question="no"))
    assert intent.confidence < 0.45
    assert intent.question == DEFAULT_QUESTION


def test_node_records_decision(fake: FakeChatModel) -> None:
    update = understand({"request": DEMO}, None)  # type: ignore[arg-type]
    assert update["intent"].characters == ["Luca", "Alberto"]  # type: ignore[union-attr]
    assert update["decisions"][0].node == "understand"  # type: ignore[index]


def test_empty_and_oversized_requests(fake: FakeChatModel) -> None:
    update = understand({"request": "  "}, None)  # type: ignore[arg-type]
    assert update["intent"].confidence == 0.0  # type: ignore[union-attr]
    with pytest.raises(RequestError, match="MAX_REQUEST_CHARS"):
        understand({"request": "x" * 5000}, None)  # type: ignore[arg-type]


def test_goal_must_be_about_the_request() -> None:
    assert merge_intent(DEMO, draft(goal="Lucci, al bella, l'amore")).goal == DEMO
    kept = "Luca and Alberto talk at sunset on the beach"
    assert merge_intent(DEMO, draft(goal=kept)).goal == kept


def test_the_model_is_asked_only_when_the_words_do_not_settle_the_intent(
    fake: FakeChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from configs.settings import get_settings

    understand({"request": DEMO}, None)  # type: ignore[arg-type]
    assert fake.calls_for("IntentDraft") == []
    understand({"request": "Can you make something nice for Luca?"}, None)  # type: ignore[arg-type]
    assert len(fake.calls_for("IntentDraft")) == 1  # a question: the model reads it
    monkeypatch.setenv("ANIMAGENT_AGENT__UNDERSTAND_WITH_MODEL", "always")
    get_settings.cache_clear()
    understand({"request": DEMO}, None)  # type: ignore[arg-type]
    assert len(fake.calls_for("IntentDraft")) == 2
