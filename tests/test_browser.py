"""The explorers as a learner meets them: JupyterLab in a real browser.

A widget that works in a Python test can still be blank in JupyterLab (a missing
front-end extension, a JavaScript error, a message lost between kernel and page). These
tests start JupyterLab from this project's environment on a free port of 127.0.0.1, in a
temporary folder holding one small notebook per explorer (the cell of notebooks 05, 07, 08
and 09 that builds it from the shipped models, on smaller images), open each in Debian's
Chromium driven by `playwright`, run it, move the controls as a learner would, and check
that the numbers on the page are the ones the Python API gives for that model and image.
The course notebooks themselves are run by nbval (`pytest notebooks/`), not here: a whole
notebook run in the browser takes minutes, and longer on a busy machine.

Waits are for conditions on the page, with timeouts that only matter when something hangs
(a busy machine makes every step slower, not wrong).

Screenshots of every state go to `runs/browser/` (or $AECODEC_SCREENSHOTS).
Chromium is found at $AECODEC_CHROMIUM, /usr/bin/chromium or on the PATH; without it the
tests fail in CI (CI=true) and are skipped elsewhere, saying why. `.ci/run` installs it.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from aecodec import zoo
from aecodec.codec import compress, decompress
from aecodec.data import load_sample
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr
from aecodec.recipes import RD_LAMBDAS
from aecodec.widgets import shrink
from aecodec.zoo import load_codecs, load_plain
from conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
MAX_SIDE = 384  # images are shrunk to this longer side (the explorers' default is 768)
# generous: reached only when something hangs (a build takes seconds on a quiet machine)
BUILD_TIMEOUT_MS = 600_000  # starting the kernel and building an explorer
UPDATE_TIMEOUT_MS = 300_000  # one explorer update

# one notebook per explorer: the import, then the cell that builds it in the course notebook
# (at MAX_SIDE); the first cell's end shows that the kernel runs the cells
RD = "from aecodec.widgets import RateDistortionExplorer"
EXPLORERS = {
    "05_latent.ipynb": ["from aecodec.widgets import LatentExplorer",
                        f"explorer = LatentExplorer(max_side={MAX_SIDE})\nexplorer"],
    "07_factorized.ipynb": [RD, "explorer = RateDistortionExplorer(family='factorized', "
                                f"max_side={MAX_SIDE})\nexplorer"],
    "08_hyperprior.ipynb": [RD, "explorer = RateDistortionExplorer(family='hyperprior', "
                                f"max_side={MAX_SIDE})\nexplorer"],
    "09_variable_rate.ipynb": [RD, "explorer = RateDistortionExplorer(family='variable-rate', "
                                   f"max_side={MAX_SIDE})\nexplorer.widget"],
    "10_context.ipynb": [RD, "explorer = RateDistortionExplorer(family='context', "
                             f"max_side={MAX_SIDE})\nexplorer.widget"],
}


# --- finding the tools -----------------------------------------------------------------


def _chromium() -> str:
    for candidate in (os.environ.get("AECODEC_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = ("Chromium not found (looked at $AECODEC_CHROMIUM, /usr/bin/chromium and the "
               "PATH). Install it with `apt-get install chromium`, or set AECODEC_CHROMIUM.")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- JupyterLab --------------------------------------------------------------------------


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the notebooks."""

    def __init__(self, root: Path):
        self.root, self.port, self.token = root, _free_port(), os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root.parent / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 300) -> None:
        settings = self.root.parent / "lab-settings"
        _write_settings(settings, {
            # render every cell (JupyterLab 4 otherwise draws only the cells on screen)
            # and start the notebook's kernel without asking
            "notebook-extension/tracker": {"windowingMode": "none",
                                           "autoStartDefaultKernel": True},
            # and do not offer to fetch Jupyter news (there may be no internet)
            "apputils-extension/notification": {"fetchNews": "false"},
        })
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={self.root.parent / 'workspaces'}",
                   "--ServerApp.port_retries=0",
                   # the JSON websocket protocol: the binary one can garble a message
                   # that arrives during a kernel restart
                   "--ServerApp.kernel_ws_protocol="]
        if os.geteuid() == 0:
            command.append("--allow-root")
        env = dict(os.environ, AECODEC_FAST="1", IPYTHONDIR=str(self.root.parent / "ipython"),
                   JUPYTER_RUNTIME_DIR=str(self.root.parent / "runtime"))
        env.pop("AECODEC_KODAK", None)  # the explorers start on the sample "astronaut"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=env, start_new_session=True)
        self._wait_until_up(timeout)

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n"
                                   f"{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n"
                           f"{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server and its kernels, whatever state they are in."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a fresh workspace (no tabs restored from earlier pages)."""
        workspace = Path(name).stem
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"


def _write_settings(folder: Path, settings: dict[str, dict]) -> None:
    """JupyterLab user settings: {"extension/plugin": {setting: value}}."""
    for plugin, values in settings.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    root.mkdir()
    for name, cells in EXPLORERS.items():
        nbformat.write(new_notebook(cells=[new_code_cell(source) for source in cells],
                                    metadata={"kernelspec": {"name": "python3",
                                                             "display_name": "Python 3",
                                                             "language": "python"}}),
                       root / name)
    server = JupyterLab(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("AECODEC_SCREENSHOTS", REPO / "runs" / "browser"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- driving the page --------------------------------------------------------------------


def open_and_run(browser, lab: JupyterLab, notebook: str, screenshots: Path):
    """Open `notebook` in JupyterLab, run all its cells, wait for the last one to finish."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(UPDATE_TIMEOUT_MS)
    try:
        page.goto(lab.notebook_url(notebook), timeout=BUILD_TIMEOUT_MS)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=BUILD_TIMEOUT_MS)
        wait_for_idle(page, BUILD_TIMEOUT_MS)
        page.evaluate(RECORD_BUSY)
        restart_and_run_all(page)
        page.wait_for_selector(RUNNING, state="detached", timeout=BUILD_TIMEOUT_MS)
    except Exception:
        page.screenshot(path=screenshots / f"FAILED_{Path(notebook).stem}.png", full_page=True)
        page.close()
        raise
    return page


# "[*]" marks a queued or running cell: the last cell keeps it until the run ends
RUNNING = ".jp-CodeCell .jp-InputPrompt:has-text('[*]')"
FIRST_CELL_DONE = """() => {
    const prompt = document.querySelector('.jp-CodeCell .jp-InputPrompt');
    return prompt && /\\[\\d+\\]/.test(prompt.textContent);
}"""


# what the page showed at some moment, whatever came after: a progress bar, "computing…"
# and the greyed picture are there only while the kernel works
RECORD_BUSY = """() => {
    window.aecodecSeen = {progress: false, computing: false, greyed: false};
    new MutationObserver(() => {
        const seen = window.aecodecSeen;
        seen.progress ||= !!document.querySelector('.jp-OutputArea .widget-hprogress');
        seen.greyed ||= !!document.querySelector('.aecodec-busy');
        seen.computing ||= [...document.querySelectorAll('.widget-html-content')]
            .some(e => e.textContent.includes('computing…'));
    }).observe(document.body, {subtree: true, childList: true, characterData: true,
                               attributes: true});
}"""


def seen(page, what: str) -> bool:
    return page.evaluate(f"() => window.aecodecSeen.{what}")


def restart_and_run_all(page, attempts: int = 3) -> None:
    """Restart the kernel and run every cell from the top, as a learner should.

    A restart that lands while the kernel is still starting can lose the run requests
    (the server logs a broken websocket message and the cells stay queued), so if the
    first cell (an import) has not run within three minutes, restart and run again.
    """
    for attempt in range(attempts):
        menu(page, "Kernel", "Restart Kernel and Run All Cells…")
        page.locator(".jp-Dialog button", has_text="Restart").click()
        page.wait_for_selector(RUNNING, timeout=60_000)
        try:
            page.wait_for_function(FIRST_CELL_DONE, timeout=180_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            wait_for_idle(page)


def menu(page, name: str, item: str) -> None:
    """Click menu `name`, then its entry `item`."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{name}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def assert_no_errors(page) -> None:
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text
    assert "Traceback" not in text
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()


def readout(page) -> dict[str, str]:
    """The explorer's numbers: {row name: text}, e.g. {"PSNR": "27.13 dB", ...}."""
    rows = page.locator("table.aecodec-readout tr")
    return {rows.nth(i).locator("td").nth(0).inner_text():
            rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}


def picture(page) -> str:
    """The reconstruction picture's source (a blob or data URL that changes with it)."""
    image = page.locator(".jupyter-widgets.widget-image").first
    image.wait_for(timeout=UPDATE_TIMEOUT_MS)
    natural, shown = image.evaluate("img => [img.naturalWidth, img.clientWidth]")
    assert natural > 0, "the explorer's picture is empty"
    assert abs(shown - natural) <= 1, f"a {natural} px picture shown {shown} px wide"
    return image.get_attribute("src")


def wait_for_new_readout(page, before: dict[str, str]) -> dict[str, str]:
    """Wait until the PSNR changes and MS-SSIM is filled in ("…" while computing)."""
    page.wait_for_function(
        """before => {
            const psnr = document.querySelector('table.aecodec-readout td.aecodec-psnr');
            const ssim = document.querySelector('table.aecodec-readout td.aecodec-ms-ssim');
            return psnr && psnr.textContent !== before && ssim && ssim.textContent !== '…';
        }""", arg=before["PSNR"], timeout=UPDATE_TIMEOUT_MS)
    return readout(page)


def move_slider_right(page) -> None:
    """Press the right arrow on the (only) slider, as a keyboard user would."""
    handle = page.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")


def choose_image(page, name: str) -> None:
    page.locator(".widget-dropdown select").first.select_option(label=name)


def shoot(page, path: Path) -> None:
    """A screenshot of the explorer (controls, readout and picture)."""
    page.locator(".widget-vbox").first.screenshot(path=path)


def page_name(page) -> str:
    return re.sub(r"\W+", "_", page.url.split("/tree/")[-1].split("?")[0])


def wait_for_idle(page, timeout: int = UPDATE_TIMEOUT_MS) -> None:
    """Wait until the kernel is started and idle (the status bar says so)."""
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout)
    page.wait_for_function("() => document.querySelector('.jp-StatusBar-Widget')"
                           " && document.body.innerText.includes('| Idle')",
                           timeout=timeout)


def slider_value(page) -> str:
    return page.locator(".widget-readout").first.inner_text().strip()


# --- the tests ---------------------------------------------------------------------------


def expected_latent(name: str, c: int) -> dict[str, str]:
    """What LatentExplorer must show for image `name` and C = c, from the Python API."""
    model = load_plain(c)
    x = shrink(load_sample(name), MAX_SIDE)  # (3, H, W)
    with torch.no_grad():
        x_hat, _ = reconstruct_8bit(model, x[None])  # (1, 3, H, W)
    height, width = x.shape[-2:]
    return {"PSNR": f"{psnr(x[None], x_hat):.2f} dB",
            "compression ratio": f"{model.compression_ratio(height, width):.1f}:1"}


def expected_rd(name: str, lmbda: float, family: str = "factorized") -> dict[str, str]:
    """What RateDistortionExplorer must show for image `name` and lambda, from the API."""
    model = {m.config.lmbda: m for m in load_codecs(family).values()}[lmbda]
    x = shrink(load_sample(name), MAX_SIDE)  # (3, H, W)
    data = compress(model, x)
    x_hat = decompress(model, data)  # (3, H, W)
    bpp = 8 * len(data) / (x.shape[-2] * x.shape[-1])
    return {"PSNR": f"{psnr(x, x_hat):.2f} dB",
            "file size": f"{len(data):,} bytes = {bpp:.3f} bpp"}


def assert_shows(shown: dict[str, str], expected: dict[str, str]) -> None:
    for key, value in expected.items():
        assert shown[key] == value, f"{key}: the page shows {shown[key]!r}, the API {value!r}"


def walk_explorer(page, screenshots: Path, prefix: str, start, right, expected) -> None:
    """The three states a learner sees: the explorer as it starts on astronaut, the slider
    one step right, then the coffee photo. In each, the page must show what `expected`
    (name, setting) gives from the Python API, and the picture must change."""
    page.locator(".widget-vbox").first.scroll_into_view_if_needed()
    first = readout(page)
    assert slider_value(page) == str(start), f"the explorer should start at {start}"
    assert page.locator(".widget-dropdown select").first.input_value() == "astronaut"
    assert_shows(first, expected("astronaut", start))
    first_picture = picture(page)
    shoot(page, screenshots / f"{prefix}_1_start_{start}_astronaut.png")

    move_slider_right(page)
    second = wait_for_new_readout(page, first)
    assert seen(page, "computing") and seen(page, "greyed"), "no sign of the work under way"
    assert page.locator(".aecodec-busy").count() == 0, "still greyed when done"
    assert slider_value(page) == str(right)
    assert_shows(second, expected("astronaut", right))
    second_picture = picture(page)
    assert second_picture != first_picture, "the picture did not change with the slider"
    shoot(page, screenshots / f"{prefix}_2_{right}_astronaut.png")

    choose_image(page, "coffee")
    third = wait_for_new_readout(page, second)
    assert_shows(third, expected("coffee", right))
    assert picture(page) != second_picture, "the picture did not change with the image"
    shoot(page, screenshots / f"{prefix}_3_{right}_coffee.png")


def run_explorer_test(browser, lab, screenshots, notebook: str, walk) -> None:
    """Build the explorer of `notebook` in the browser, check it shows no error and that a
    progress bar showed while it was built, then `walk(page)` through its states."""
    page = open_and_run(browser, lab, notebook, screenshots)
    try:
        assert_no_errors(page)
        assert seen(page, "progress"), "no progress bar while the explorer was built"
        assert page.locator(".jp-OutputArea .widget-hprogress").count() == 0, \
            "the build's progress bar is still there"
        walk(page)
        wait_for_idle(page)
        assert_no_errors(page)
    except Exception:
        page.screenshot(path=screenshots / f"FAILED_{page_name(page)}.png", full_page=True)
        raise
    finally:
        page.close()


def test_latent_explorer_in_jupyterlab(browser, lab, screenshots):
    # latent channels C: the explorer starts at 8; one step right is 16
    run_explorer_test(browser, lab, screenshots, "05_latent.ipynb", partial(
        walk_explorer, screenshots=screenshots, prefix="05", start=8, right=16,
        expected=expected_latent))


def test_rate_distortion_explorer_in_jupyterlab(browser, lab, screenshots):
    # lambda: the explorer starts in the middle of the shipped family
    middle = len(RD_LAMBDAS) // 2
    run_explorer_test(browser, lab, screenshots, "07_factorized.ipynb", partial(
        walk_explorer, screenshots=screenshots, prefix="07", start=RD_LAMBDAS[middle],
        right=RD_LAMBDAS[middle + 1], expected=expected_rd))


def test_hyperprior_explorer_in_jupyterlab(browser, lab, screenshots):
    middle = len(RD_LAMBDAS) // 2
    run_explorer_test(browser, lab, screenshots, "08_hyperprior.ipynb", partial(
        walk_explorer, screenshots=screenshots, prefix="08", start=RD_LAMBDAS[middle],
        right=RD_LAMBDAS[middle + 1], expected=partial(expected_rd, family="hyperprior")))


def expected_variable_rate(name: str, lmbda: float,
                           family: str = "variable-rate") -> dict[str, str]:
    """What a variable-rate explorer of `family` must show for image `name` at `lmbda`."""
    model = zoo.load_codec(family=family)
    x = shrink(load_sample(name), MAX_SIDE)  # (3, H, W)
    with model.at_lambda(lmbda):
        data = compress(model, x)
    x_hat = decompress(model, data)  # (3, H, W)
    bpp = 8 * len(data) / (x.shape[-2] * x.shape[-1])
    return {"PSNR": f"{psnr(x, x_hat):.2f} dB",
            "file size": f"{len(data):,} bytes = {bpp:.3f} bpp"}


def walk_variable_rate_explorer(page, screenshots: Path, family: str = "variable-rate",
                                prefix: str = "09") -> None:
    """09's and 10's explorers have a continuous lambda slider: it starts at the model's
    lambda and shows its real file; one step right codes at a larger lambda, between two
    trained ones: a bigger file and a new picture."""
    page.locator(".widget-vbox").first.scroll_into_view_if_needed()
    first = readout(page)
    assert slider_value(page) == "0.0067"
    assert_shows(first, expected_variable_rate("astronaut", 0.0067, family))
    first_picture = picture(page)
    shoot(page, screenshots / f"{prefix}_1_{family}_0.0067.png")
    move_slider_right(page)
    second = wait_for_new_readout(page, first)
    assert seen(page, "computing") and seen(page, "greyed"), "no sign of the work under way"
    assert 0.0067 < float(slider_value(page)) < 0.013
    size = lambda shown: int(shown["file size"].split(" bytes")[0].replace(",", ""))  # noqa: E731
    assert size(second) > size(first), "a larger lambda must give a larger file"
    assert picture(page) != first_picture, "the picture did not change with the slider"
    shoot(page, screenshots / f"{prefix}_2_{family}_right.png")


def test_variable_rate_explorer_in_jupyterlab(browser, lab, screenshots):
    """09's variable-rate explorer must start at the model's lambda and follow its slider
    (notebook 09 itself, its checks and figures, is run by nbval)."""
    run_explorer_test(browser, lab, screenshots, "09_variable_rate.ipynb",
                      partial(walk_variable_rate_explorer, screenshots=screenshots))


def test_default_codec_explorer_in_jupyterlab(browser, lab, screenshots):
    """10's explorer of the default codec (the context model) must start at its quality-4
    lambda, show that real file, and follow its slider (notebook 10 itself is run by nbval)."""
    run_explorer_test(browser, lab, screenshots, "10_context.ipynb",
                      partial(walk_variable_rate_explorer, screenshots=screenshots,
                              family="context", prefix="10"))
