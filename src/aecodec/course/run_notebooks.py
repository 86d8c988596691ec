"""Maintenance of the course notebooks: run them in place and strip saved widget state.

    python -m aecodec.course.run_notebooks notebooks/*.ipynb     (what `make notebooks` runs)

Notebooks are committed with their outputs so learners can read them before running
anything, but without the saved widget state (megabytes of JSON that code hosting sites
cannot render anyway).
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def strip_widget_state(nb: nbformat.NotebookNode) -> None:
    """Remove saved ipywidgets state from a notebook's metadata."""
    nb.metadata.pop("widgets", None)


def execute_in_place(path: Path, timeout: int = 900) -> None:
    """Run every cell of a notebook from a fresh kernel and save it with its outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    strip_widget_state(nb)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"running {name}", flush=True)
        execute_in_place(Path(name))
