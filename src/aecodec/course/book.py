"""The course as a static web site: every notebook as an HTML page, as committed (with its
outputs, nothing is run), and an index page. For a teacher to share before anyone installs
anything.

    python -m aecodec.course.book notebooks build/book      (what `make book` runs)

Pages are whole files (pictures embedded) that open from disk, offline. A widget cannot run
without a kernel, so each widget output is drawn still: a progress bar as its final line
and bar (from the notebook's saved widget state, see `run_notebooks`), an explorer as the
still picture it leaves beside itself (`image/png`); any other widget keeps its saved
state for the Jupyter widgets script, and a widget without state says that it needs the
notebook to run, rather than showing its placeholder text (`VBox(children=(...`).

Holds only the conversion (nbconvert's HTML exporter); running notebooks is
`run_notebooks`'s job.
"""

import html
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from aecodec._atomic import atomic_write
from aecodec.course.run_notebooks import WIDGET_VIEW, progress_bar, widget_state

NO_STATE = ("<p class='aecodec-widget-note'><i>An interactive widget: run the notebook to "
            "use it.</i></p>")


def bar_html(bar: dict, text: str) -> str:
    """A finished (or stopped) tqdm bar as static HTML: its line and a <progress> bar."""
    label, _, counts = text.partition("|")
    counts = counts.rpartition("|")[2]
    return (f"<div class='aecodec-progress'><span>{html.escape(label)}</span> "
            f"<progress value='{bar.get('value', 0)}' max='{bar.get('max', 100)}'></progress> "
            f"<span>{html.escape(counts)}</span></div>")


class StillWidgets(Preprocessor):
    """Replace each widget output by something a page without a kernel can show."""

    def preprocess(self, nb, resources):
        state = widget_state(nb)
        kept = False
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                view = data.get(WIDGET_VIEW)
                if view is None:
                    continue
                model_id = view["model_id"]
                bar = progress_bar(state, model_id) if model_id in state else None
                if bar is not None:
                    output["data"] = {"text/html": bar_html(*bar)}
                elif "image/png" in data:  # an explorer's still picture
                    output["data"] = {"image/png": data["image/png"]}
                elif model_id in state:
                    kept = True  # drawn from its saved state by the widgets script
                else:
                    output["data"] = {"text/html": NO_STATE}
        if not kept:
            nb.metadata.pop("widgets", None)  # no widget left: no script to fetch
        return nb, resources


def chapter_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The notebook's first Markdown heading, or `default`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return default


def build_book(notebooks: list[Path], out: Path, title: str = "aecodec: the course") -> Path:
    """Write each notebook as `out/<name>.html` and an index, `out/index.html` (returned).

    Args:
        notebooks: the notebooks, in the order of the course.
        out: the folder for the pages (created if missing).
        title: the index page's title.
    """
    if not notebooks:
        raise ValueError("no notebooks to make a book of")
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    exporter.register_preprocessor(StillWidgets, enabled=True)
    chapters = []
    for path in notebooks:
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        name = chapter_title(nb, path.stem)
        body, _ = exporter.from_notebook_node(
            nb, resources={"metadata": {"name": name, "path": str(path.parent)}})
        page = path.with_suffix(".html").name
        with atomic_write(Path(out) / page) as f:
            f.write(body.encode())
        chapters.append((page, name))
    items = "\n".join(f"<li><a href='{html.escape(page)}'>{html.escape(name)}</a></li>"
                      for page, name in chapters)
    index = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title></head>\n<body style='font-family: sans-serif; max-width: 46em; "
             f"margin: 2em auto'>\n<h1>{html.escape(title)}</h1>\n<p>The notebooks as "
             f"committed, with their outputs; to run them, see the project's README.</p>\n"
             f"<ol>\n{items}\n</ol>\n</body></html>\n")
    with atomic_write(Path(out) / "index.html") as f:
        f.write(index.encode())
    return Path(out) / "index.html"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m aecodec.course.book NOTEBOOK_FOLDER OUT_FOLDER")
    notebooks = sorted(Path(sys.argv[1]).glob("[0-9]*.ipynb"))
    if not notebooks:
        sys.exit(f"no numbered notebooks (00_*.ipynb ...) in {sys.argv[1]}")
    print(f"wrote {build_book(notebooks, Path(sys.argv[2]))} and {len(notebooks)} pages")
