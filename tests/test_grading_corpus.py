"""Every chapter's student-like corpus (tests/test_grading_<chapter>.py: CORRECT, BUGS).

* every correct variant earns full marks, visible and hidden;
* every bug fails the hidden check, and its message names its actual mistake or none;
* the notebook's verdict and the grader's (recorded, loaded, judged) are the same;
* at least 2 correct variants and 5 bugs per exercise, and at least 90% of the bugs
  named by their actual mistake.
"""

import importlib

import pytest

from tests.support.grading import trusted_verdict, verdict

CHAPTERS = ["rnn_limits", "lstm_cell", "variants", "gradient_flow", "language_models",
            "encoder_decoder", "using_lstms"]  # fmt: skip
MODULES, BROKEN = {}, {}
for chapter in CHAPTERS:
    try:  # one chapter's broken test file fails its own test below, not the others'
        MODULES[chapter] = importlib.import_module(f"tests.test_grading_{chapter}")
    except Exception as error:  # noqa: BLE001
        BROKEN[chapter] = error

CORPORA = [m for m in MODULES.values() if hasattr(m, "BUGS")]
CORRECT = [(ex, fn) for m in CORPORA for ex, fns in m.CORRECT.items() for fn in fns]
BUGS = [(ex, bug) for m in CORPORA for ex, bugs in m.BUGS.items() for bug in bugs]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_a_corpus(chapter):
    assert chapter not in BROKEN, f"tests/test_grading_{chapter}.py: {BROKEN.get(chapter)!r}"
    assert hasattr(MODULES[chapter], "CORRECT") and hasattr(MODULES[chapter], "BUGS")


def _id(entry):
    exercise, item = entry
    return f"{exercise.name}-{getattr(item, 'id', getattr(item, '__name__', 'fn'))}"


@pytest.mark.parametrize("entry", CORRECT, ids=map(_id, CORRECT))
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_variant_passes_both_paths(entry, hidden, tmp_path):
    exercise, fn = entry
    mine, trusted = verdict(exercise, fn, hidden), trusted_verdict(exercise, fn, hidden, tmp_path)
    assert mine.passed, mine.message
    assert trusted == mine


@pytest.mark.parametrize("entry", BUGS, ids=map(_id, BUGS))
def test_bug_fails_with_its_own_name(entry, tmp_path):
    exercise, bug = entry
    mine = verdict(exercise, bug.fn, hidden=True)
    assert not mine.passed, f"{bug.id} passed the hidden check"
    assert trusted_verdict(exercise, bug.fn, True, tmp_path) == mine
    assert len(mine.message.splitlines()) <= 5
    if bug.mistake is None:
        assert "known mistake" not in mine.message, mine.message
    else:
        assert bug.mistake in mine.message, mine.message


def test_every_exercise_has_a_corpus_and_nine_in_ten_bugs_are_named():
    for module in CORPORA:
        for exercise in {*module.CORRECT, *module.BUGS}:
            assert len(module.CORRECT.get(exercise, [])) >= 2, exercise.name
            assert len(module.BUGS.get(exercise, [])) >= 5, exercise.name
    named = sum(bug.mistake is not None for _, bug in BUGS)
    assert named >= 0.9 * len(BUGS), f"{named} of {len(BUGS)} bugs named"
