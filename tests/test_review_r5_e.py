"""Review r5-E (notebook 10): the fixes it asked for stay fixed.

The notebook's markdown says what the code does (the anchors' parameters go through
`parameters_net` with a zero context; decoding cost does not choose between the checkerboard
and channel groups), the hours behind the default codec are called what the checkpoints
record (wall-clock hours; a file's thread count is that of the process that wrote it, which
the texts say), and exercise 3's check tells a learner whose accepted figure reads the
percentage from the other base which base it uses.
"""

import json

from aecodec import zoo
from aecodec.checkpoint import load_checkpoint
from aecodec.course import exercises
from conftest import REPO, notebook_markdown

NOTEBOOK = REPO / "notebooks" / "10_context_the_bits_the_hyperprior_leaves.ipynb"
NOTEBOOK_BITS = {"anchors": 0.485, "non-anchors": 0.354}  # what the saved notebook prints (27%)


def markdown() -> str:
    return notebook_markdown(NOTEBOOK)


def said(answer: dict, capsys, measured: dict = NOTEBOOK_BITS) -> str:
    capsys.readouterr()
    exercises.check_bits_prediction(lambda: answer, measured)
    return capsys.readouterr().out


def test_decoding_cost_is_not_said_to_choose_the_checkerboard_over_channel_groups():
    text = markdown()
    assert "That, and the cost of decoding (next section), is the case" not in text
    assert "rules out a serial context" in text
    assert "both take two passes (Minnen & Singh's 10 slices take 10)" in text


def test_the_anchors_parameters_are_not_said_to_skip_the_parameter_layers():
    text = markdown()
    assert "The entropy model improves only the non-anchors' coding" not in text
    assert "parameters from the hyperprior's output alone, then" not in text  # the recap
    assert ("The anchors' parameters use no decoded value, only the hyperprior's output "
            "through `parameters_net` with a zero context.") in text


def test_the_serial_context_is_introduced_as_a_comparison():
    text = markdown()
    assert "So a serial context" not in text and "For comparison, a serial context" in text


def recorded_threads(name: str):
    return (load_checkpoint(zoo.models_dir() / name).get("training") or {}).get("threads")


def test_the_hours_are_called_wall_clock_and_the_two_thread_record_is_explained():
    # hp_lambda0.0067.pt records threads: 2 (torch.get_num_threads() when the file was
    # written), while the run's own log launched it with threads=1: the texts say which
    log = (REPO / "benchmarks" / "results" / "hyperprior_train.log").read_text()
    launches = [line for line in log.splitlines() if " launch " in line]
    assert launches and all(" threads=1 " in line for line in launches)
    readme = " ".join((REPO / "README.md").read_text().split())
    training = " ".join((REPO / "docs" / "training.md").read_text().split())
    for text in (readme, markdown(), training):
        assert "hours of training (wall clock" in text
        assert "used 2 threads" not in text
    # review r10-E moved notebook 10's thread bookkeeping to docs/teachers.md
    teachers = " ".join((REPO / "docs" / "teachers.md").read_text().split())
    if recorded_threads("hp_lambda0.0067.pt") != 1:
        for text in (teachers, training):
            assert "threads: 2" in text or "records 2" in text
            assert "training log" in text


def test_a_saving_read_from_the_other_base_is_told_which_base_the_check_uses(capsys):
    # measured: the non-anchors cost 27% fewer bits than the anchors, the anchors 37% more
    out = said({"cheaper": "non-anchors", "saving_percent": 37}, capsys)
    assert out.startswith("Correct. ")
    assert "percent fewer than the dearer half" in out and "37% more" in out


def test_the_notebook_solutions_message_is_unchanged(capsys):
    # nearer the measured 27% fewer than the 37% more: no note, the saved output stays as it is
    # (review r9-E: the check cell passes the start's file, whose numbers the verdict quotes)
    # review r10-E: the solution predicts 25% at the settings' QUALITY 4 (40% at 1 and 2)
    exercises.check_bits_prediction(lambda: {"cheaper": "non-anchors", "saving_percent": 25},
                                    NOTEBOOK_BITS, start={"anchors": 0.4247, "non-anchors": 0.4251})
    out = capsys.readouterr().out
    assert out.startswith("Correct. ") and "dearer half" not in out
    saved = "".join("".join(o.get("text", "")) for c in json.loads(NOTEBOOK.read_text())["cells"]
                    if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert out.strip() in saved


def test_the_anchors_as_cheaper_gets_the_zero_context_mechanism(capsys):
    out = said({"cheaper": "anchors", "saving_percent": 27}, capsys)
    assert out.startswith("Wrong")
    assert "hyperprior's output alone" not in out
    assert "use no decoded value" in out and "zero context" in out
