"""Notebooks that read well before they run: widget outputs are saved with their state.

The runner (`aecodec.course.run_notebooks`, `make notebooks`) is tried on a small
notebook made here (a slider and tqdm bars); the committed notebooks are checked for
widget outputs without saved state, against the list of those still waiting to be re-run.
"""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from aecodec.course.run_notebooks import (
    execute_in_place,
    progress_bar,
    widget_outputs,
    widget_outputs_without_state,
    widget_state,
)
from conftest import REPO

# Committed before the runner saved widget state; each leaves this list when `make
# notebooks` re-runs it. The test fails if one listed here has its state (remove it).
AWAITING_RERUN: set[str] = set()

THROWAWAY_CELLS = [
    "import ipywidgets as widgets\nwidgets.IntSlider(value=3, max=10, description='k')",
    "import time\nfrom tqdm.auto import tqdm\n"
    "for i in tqdm(range(40), desc='steps'):\n    time.sleep(0.005)",
    # a time budget, as training counts it: float updates up to the total
    "bar = tqdm(total=12, desc='training', unit='s')\n"
    "for i in range(8):\n    bar.update(1.5)\nbar.close()",
    "for i in tqdm(range(5), desc='hidden', leave=False):\n    pass",
    "hidden = widgets.Button(description='never shown')",
    # an explorer (its build bar is closed once it is built) of two small untrained models
    "import torch\nfrom aecodec.models import Autoencoder\nfrom aecodec.widgets import "
    "LatentExplorer\ntorch.manual_seed(0)\nexplorer = LatentExplorer({(c, 2): Autoencoder(c, 2, 8)"
    ".eval() for c in (2, 4)}, max_side=64)\nexplorer",
]
EXPLORER_CELL = 5


def throwaway_notebook(folder) -> "nbformat.NotebookNode":
    path = folder / "throwaway.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in THROWAWAY_CELLS]), path)
    return path


@pytest.fixture(scope="module")
def run_throwaway(tmp_path_factory):
    path = throwaway_notebook(tmp_path_factory.mktemp("runner"))
    problems = execute_in_place(path, timeout=300)
    return nbformat.read(path, as_version=4), problems


def test_the_runner_saves_the_state_of_every_shown_widget(run_throwaway):
    nb, problems = run_throwaway
    assert widget_outputs_without_state(nb) == []
    state = widget_state(nb)
    slider = [state[m]["state"] for i, _, m in widget_outputs(nb) if i == 0]
    assert len(slider) == 1 and slider[0]["value"] == 3 and slider[0]["description"] == "k"
    names = {v["model_name"] for v in state.values()}
    assert "ButtonModel" not in names  # created, never shown: not saved
    assert problems == []


def test_progress_bars_are_saved_finished(run_throwaway):
    nb, _ = run_throwaway
    bars = {i: (progress_bar(widget_state(nb), m), o) for i, o, m in widget_outputs(nb)
            if i in (1, 2)}
    assert sorted(bars) == [1, 2]
    for (bar_state, text), output in bars.values():
        assert bar_state["value"] == bar_state["max"] and bar_state["bar_style"] == "success"
        assert "100%" in text and output["data"]["text/plain"] == text  # for GitHub
    assert "40/40" in bars[1][0][1] and "12.0/12" in bars[2][0][1]


def test_bars_closed_during_the_run_leave_no_output(run_throwaway):
    nb, _ = run_throwaway
    assert [o for i, o, _ in widget_outputs(nb) if i == 3] == []
    assert "hidden" not in str(nb.cells[3].outputs)


def test_committed_notebooks_save_their_widget_state():
    """A widget output without state reads as `VBox(children=(...` or a bar stuck at 0%."""
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 10
    missing, rerun = {}, []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        without = widget_outputs_without_state(nb)
        if without and path.name not in AWAITING_RERUN:
            missing[path.name] = without
        if not without and path.name in AWAITING_RERUN:
            rerun.append(path.name)
    assert not missing, f"widget outputs without saved state (re-run with `make notebooks`): " \
                        f"{missing}"
    assert not rerun, f"{rerun} now save their widget state: remove them from AWAITING_RERUN"
    assert AWAITING_RERUN <= {p.name for p in notebooks}


def test_an_explorer_is_saved_with_its_state_and_a_still_picture(run_throwaway):
    nb, _ = run_throwaway
    outputs = nb.cells[EXPLORER_CELL].outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1, "the explorer, and no build bar left over"
    data = views[0]["data"]
    assert data["image/png"] and "VBox" not in data["text/plain"]
    state = widget_state(nb)
    names = {v["model_name"] for v in state.values()}
    assert {"VBoxModel", "ImageModel", "SelectionSliderModel"} <= names
    image = next(v for v in state.values() if v["model_name"] == "ImageModel")
    assert image["buffers"], "the picture's bytes are saved with the widget"


def test_the_runner_reports_a_bar_that_did_not_finish(tmp_path):
    path = tmp_path / "stopped.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(
        "from tqdm.auto import tqdm\nbar = tqdm(total=10, desc='stopped')\nbar.update(4)\n"
        "bar.close()")]), path)
    problems = execute_in_place(path, timeout=120)
    assert len(problems) == 1 and "did not finish: stopped:  40%" in problems[0]
    nb = nbformat.read(path, as_version=4)
    assert widget_outputs_without_state(nb) == []  # saved all the same, as it stopped


def test_the_runner_answers_help_and_names_a_file_that_is_not_a_notebook(capsys):
    from aecodec.course.run_notebooks import main

    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0 and "NOTEBOOK" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["notes.txt"])
    assert stop.value.code == 2
    assert "not a notebook file: notes.txt" in capsys.readouterr().err
