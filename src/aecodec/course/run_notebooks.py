"""Maintenance of the course notebooks: run them in place, saved so that they read well
before anyone runs them.

    python -m aecodec.course.run_notebooks notebooks/*.ipynb     (what `make notebooks` runs)

Notebooks are committed with their outputs so learners can read them before running
anything. A widget (an explorer, a tqdm progress bar) is saved as a reference to a model
that lives in the kernel; without that model's saved state a reader sees its placeholder
text (`VBox(children=(...`, a bar frozen at `0%`). So the runner keeps the widget state
(nbclient's `store_widget_state`), trimmed to the widgets the outputs show, drops the
outputs of widgets closed during the run (tqdm's `leave=False` bars, which JupyterLab hides
too), and rewrites a progress bar's placeholder text to its final line, for viewers that
show no widgets (GitHub). `widget_outputs_without_state` is what the tests check.

Holds only notebook bookkeeping; `aecodec.course.book` turns the saved notebooks into HTML.
"""

import argparse
import html
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from aecodec._atomic import atomic_write

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")


class _Client(NotebookClient):
    """nbclient's client, also remembering which widgets were closed during the run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.closed_widgets: set[str] = set()

    def handle_comm_msg(self, outs, msg, cell_index) -> None:
        if msg["msg_type"] == "comm_close":
            self.closed_widgets.add(msg["content"]["comm_id"])
        super().handle_comm_msg(outs, msg, cell_index)


def widget_state(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """The saved widget models {model_id: {"model_name", "state", ...}}, {} if none."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def widget_outputs(nb: nbformat.NotebookNode) -> Iterator[tuple[int, dict, str]]:
    """Every output that shows a widget: (cell index, output, model_id)."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                yield index, output, view["model_id"]


def widget_outputs_without_state(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, placeholder text) of each widget output whose model was not saved:
    what GitHub, nbviewer and an HTML export cannot draw."""
    state = widget_state(nb)
    return [(index, output["data"].get("text/plain", "")[:60])
            for index, output, model_id in widget_outputs(nb) if model_id not in state]


def _children(state: dict) -> Iterator[str]:
    """The model ids a widget's state refers to ("IPY_MODEL_<id>", also inside lists)."""
    for value in state.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.startswith("IPY_MODEL_"):
                yield item[len("IPY_MODEL_"):]


def keep_shown_widgets(nb: nbformat.NotebookNode, closed: set[str] = frozenset()) -> None:
    """Drop the outputs of closed widgets, and the saved state of every widget that no
    remaining output shows (directly or as a child, a layout, a style)."""
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs
                            if o.get("data", {}).get(WIDGET_VIEW, {}).get("model_id")
                            not in closed]
    state = widget_state(nb)
    keep, todo = set(), [model_id for _, _, model_id in widget_outputs(nb)]
    while todo:
        model_id = todo.pop()
        if model_id in keep or model_id not in state:
            continue
        keep.add(model_id)
        todo.extend(_children(state[model_id]["state"]))
    if keep:
        nb.metadata.widgets[WIDGET_STATE]["state"] = {k: v for k, v in state.items()
                                                      if k in keep}
    else:
        nb.metadata.pop("widgets", None)


def progress_bar(state: dict[str, dict], model_id: str) -> tuple[dict, str] | None:
    """A tqdm bar (an HBox of label, progress, counts): (its progress model's state, its
    text as tqdm prints it), or None if `model_id` is not one."""
    children = [state.get(c.removeprefix("IPY_MODEL_"))
                for c in state[model_id]["state"].get("children", [])]
    if (state[model_id]["model_name"] != "HBoxModel" or len(children) != 3
            or None in children or children[1]["model_name"] not in PROGRESS_MODELS):
        return None
    label, bar, counts = (c["state"] for c in children)
    value, high = bar.get("value", 0), bar.get("max", 100) or 1
    filled = round(10 * min(max(value / high, 0), 1))
    text = f"{label.get('value', '')}|{'█' * filled}{' ' * (10 - filled)}|" \
           f"{counts.get('value', '')}"
    return bar, html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u2007", " ")


def refresh_progress_text(nb: nbformat.NotebookNode) -> list[str]:
    """Write each saved progress bar's final line into its placeholder text, and return
    the lines of bars that did not finish (not at 100%, or marked failed)."""
    state, unfinished = widget_state(nb), []
    for _, output, model_id in widget_outputs(nb):
        bar = progress_bar(state, model_id) if model_id in state else None
        if bar is None:
            continue
        bar_state, text = bar
        output["data"]["text/plain"] = text
        if bar_state.get("value", 0) < bar_state.get("max", 100) \
                or bar_state.get("bar_style") == "danger":
            unfinished.append(text)
    return unfinished


def execute_in_place(path: Path, timeout: int = 900) -> list[str]:
    """Run every cell of a notebook from a fresh kernel and save it with its outputs and
    the state of the widgets they show. Returns what a maintainer should look at: progress
    bars that did not finish, and widget outputs whose state the run did not capture (a
    widget shown from another thread, after its cell ended). The notebook is saved either
    way."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # state of an earlier run
    client = _Client(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    keep_shown_widgets(nb, client.closed_widgets)
    problems = [f"a progress bar did not finish: {line}" for line in refresh_progress_text(nb)]
    problems += [f"cell {index}: a widget without saved state: {text}"
                 for index, text in widget_outputs_without_state(nb)]
    with atomic_write(path) as f:
        f.write(nbformat.writes(nb).encode() + b"\n")
    return problems


def main(argv: list[str] | None = None) -> int:
    """`python -m aecodec.course.run_notebooks NOTEBOOK...` (what `make notebooks` runs)."""
    parser = argparse.ArgumentParser(
        prog="python -m aecodec.course.run_notebooks",
        description="Run notebooks top to bottom in place, saving outputs and widget state.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help=".ipynb files")
    args = parser.parse_args(argv)
    missing = [name for name in args.notebooks
               if not (name.endswith(".ipynb") and Path(name).is_file())]
    if missing:
        parser.error(f"not a notebook file: {', '.join(missing)}")
    failed = False
    for name in args.notebooks:
        print(f"running {name}", flush=True)
        for problem in execute_in_place(Path(name)):
            print(f"  {problem}", flush=True)
            failed |= "without saved state" in problem
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
