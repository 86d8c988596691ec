"""`make book`: the course as static pages, from the committed notebooks.

Built here from two committed notebooks (05, whose explorer was committed without its
widget state, and 01) and the small notebook that `test_notebook_widgets` runs through the
notebook runner (a slider, finished tqdm bars, an explorer, all with their saved state).
The browser test opens the pages from disk in Chromium, as a teacher's student would.
"""

import re
import shutil

import pytest

from aecodec.course.book import build_book
from aecodec.course.run_notebooks import execute_in_place
from conftest import REPO
from test_notebook_widgets import THROWAWAY_CELLS, throwaway_notebook

COMMITTED = ["01_images_as_tensors.ipynb", "05_latent_size_tradeoffs.ipynb"]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    notebooks = tmp_path_factory.mktemp("notebooks")
    for name in COMMITTED:
        shutil.copy(REPO / "notebooks" / name, notebooks / name)
    throwaway = throwaway_notebook(notebooks)
    execute_in_place(throwaway, timeout=300)
    out = tmp_path_factory.mktemp("book")
    paths = [notebooks / name for name in COMMITTED] + [throwaway]
    return build_book(paths, out), out


def test_the_book_has_an_index_and_a_page_per_notebook(book):
    index, out = book
    text = index.read_text()
    for name in [*COMMITTED, "throwaway.ipynb"]:
        page = name.replace(".ipynb", ".html")
        assert f"href='{page}'" in text and (out / page).stat().st_size > 10_000
    assert "Images as tensors" in text or "tensors" in text  # titles from the headings


def test_no_page_shows_a_widget_placeholder(book):
    _, out = book
    for page in out.glob("*.html"):
        assert "VBox(" not in page.read_text() and "HBox(" not in page.read_text(), page.name


def test_saved_bars_are_drawn_finished_and_the_explorer_as_its_picture(book):
    _, out = book
    page = (out / "throwaway.html").read_text()
    bars = [(re.search(r"value=.([\d.]+)", tag)[1], re.search(r"max=.([\d.]+)", tag)[1])
            for tag in re.findall(r"<progress[^>]*>", page)]
    assert bars == [("40.0", "40.0"), ("12.0", "12.0")]
    assert "steps: 100%" in page and "training: 100%" in page
    assert len(THROWAWAY_CELLS) == 6
    assert page.count("data:image/png;base64") >= 1  # the explorer's still picture
    # the slider is the one widget left: its saved state is there for the widgets script
    assert "application/vnd.jupyter.widget-state+json" in page
    assert "application/vnd.jupyter.widget-state+json" not in (out / COMMITTED[0].replace(
        ".ipynb", ".html")).read_text()  # no widgets: no script


def test_without_notebooks_it_says_so(tmp_path):
    with pytest.raises(ValueError, match="no notebooks"):
        build_book([], tmp_path)


@pytest.mark.browser
def test_the_pages_render_in_a_browser(book):
    """Chromium opens the index and two pages from disk: every figure loads, no widget
    placeholder text, the bars at 100%."""
    from test_browser import CHROMIUM_FLAGS, _chromium

    executable = _chromium()
    from playwright.sync_api import sync_playwright

    index, out = book
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(index.as_uri())
            assert page.locator("li a").count() == 3
            for name in (COMMITTED[1], "throwaway.ipynb"):
                page.goto((out / name.replace(".ipynb", ".html")).as_uri())
                page.wait_for_load_state("load")
                images = page.locator(".jp-OutputArea-output img")
                assert images.count() >= 1, name
                widths = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
                assert all(w and w > 0 for w in widths), f"{name}: a figure did not load"
                text = page.locator("body").inner_text()
                assert "VBox(" not in text and "HBox(" not in text, name
            bars = page.locator("progress")
            assert bars.count() == 2
            assert bars.evaluate_all("bs => bs.every(b => b.value === b.max)")
        finally:
            browser.close()
