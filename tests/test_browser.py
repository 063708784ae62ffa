"""The learner's experience in a real browser: JupyterLab driven by Playwright in Chromium.

The test starts `jupyter lab` from the course's environment (the one `make lab` builds) on a
free loopback port with a random token, over a scratch copy of course/, and stops it at the
end. Screenshots of every scenario go to test-artifacts/browser/ (git-ignored). Without
Chromium these tests skip, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from helpers import (
    COURSE,
    ROOT,
    chromium,
    filled_notebook,
    free_port,
    implementation_code,
    solution_code,
)

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "browser"
LESSON_04 = "04_clipping_numpy/clipping_numpy.ipynb"
COMPLETED_01 = "completed/vector_products.ipynb"
SOLUTION_01 = "solution/vector_products.ipynb"
# The notebook on screen (other tabs stay in the page, hidden).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
WAIT_MS = 60_000  # what a page may take to draw, start a kernel or run a cell on a loaded machine


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield from chromium()


def _prepare_notebooks(folder: Path) -> None:
    """A scratch copy of course/, plus a completed lesson 01 and a solution with its outputs."""
    shutil.copytree(COURSE.released, folder)
    (folder / "completed").mkdir()
    completed = filled_notebook("01_vector_products", solution_code("01_vector_products"),
                                answers={"explain_seed_bugs": "resultant aliases vector1 ..."})
    nbformat.write(completed, folder / COMPLETED_01)
    (folder / "solution").mkdir()
    shutil.copy(COURSE.solutions / "01_vector_products" / "vector_products.ipynb",
                folder / SOLUTION_01)


def _test_settings(folder: Path) -> Path:
    """JupyterLab user settings for the tests: no news pop-ups over the notebook, and every cell
    rendered at once (by default JupyterLab renders only the cells near the screen)."""
    for plugin, values in [("apputils-extension/notification",
                            {"fetchNews": "false", "checkForUpdates": False}),
                           ("notebook-extension/tracker", {"windowingMode": "none"})]:
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """A running JupyterLab: yields (base URL, token, notebook folder)."""
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    _prepare_notebooks(notebooks)
    port, token = free_port(), secrets.token_hex(16)
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={notebooks}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={_test_settings(base / 'settings')}",
               f"--LabApp.workspaces_dir={base / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    log = (base / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start:\n{(base / 'lab.log').read_text()}")
                time.sleep(0.5)
        yield url, token, notebooks
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _open(browser, lab, path: str):
    """A new page showing notebook `path`, once its kernel is idle."""
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)  # every click, fill and wait on the page
    # ?reset: start from an empty workspace, not with the tabs an earlier page left open.
    page.goto(f"{url}/lab/tree/{path}?reset&token={token}")
    page.wait_for_selector(f"{PANEL} .jp-Cell")
    _wait_idle(page)
    return page


def _wait_idle(page, timeout: int = WAIT_MS) -> None:
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout)


def _cell(page, text: str):
    """The notebook cell whose text contains `text`."""
    cell = page.locator(f"{PANEL} .jp-Cell").filter(has_text=text)
    assert cell.count() == 1, f"expected one cell containing {text!r}, found {cell.count()}"
    return cell


def _run_all(page) -> None:
    # The command returns NotebookActions.runAll's promise, which evaluate() awaits: it resolves
    # once every cell has run (JupyterLab 4.6, notebook-extension), not after a guessed delay.
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _wait_idle(page)


def _shows(output, text: str, timeout: int = WAIT_MS) -> None:
    """Wait until a cell's output area shows `text` (execution may still be on its way)."""
    try:
        output.get_by_text(text).first.wait_for(timeout=timeout)
    except Exception:
        raise AssertionError(f"expected {text!r} in the output, which shows:\n"
                             f"{output.inner_text()}") from None


def _replace_code(page, cell, code: str) -> None:
    """Type `code` into a cell the way a learner pastes it: select everything, then insert."""
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(COURSE.released))
                                        for p in COURSE.released.glob("*/*.ipynb")))
def test_each_released_notebook_opens_with_its_title(browser, lab, path):
    page = _open(browser, lab, path)
    title = page.locator(f"{PANEL} .jp-RenderedMarkdown h1").first.inner_text()
    lesson = path[:2]
    assert title.startswith(f"Lesson {lesson} "), f"{path}: first heading is {title!r}"
    page.screenshot(path=ARTIFACTS / f"open-{lesson}.png")
    page.close()


def test_lesson_list_links_of_the_first_notebook_resolve(browser, lab):
    page = _open(browser, lab, "01_vector_products/vector_products.ipynb")
    links = page.locator(f"{PANEL} .jp-Cell").first.locator("table a")
    # The markdown renders after the cell appears (later under load): wait for the table's links
    # before counting them.
    links.first.wait_for()
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) >= 2, f"the lesson list should link the other lessons; found {hrefs}"
    for href in hrefs:
        response = page.request.get(href)
        assert response.ok, f"lesson link {href} answers {response.status}"
        assert json.loads(response.body())["cells"], f"{href} is not a notebook"
    page.close()


def test_learner_fixes_clip_by_value_and_sees_the_tests(browser, lab):
    page = _open(browser, lab, LESSON_04)
    answer = _cell(page, "def clip_by_value(t, clip_value_min, clip_value_max):")
    test_cell = _cell(page, '"""Part A: clamping, dtype')
    output = test_cell.locator(".jp-OutputArea")

    _replace_code(page, answer, solution_code("04_clipping_numpy")["clip_by_value"])
    _run_all(page)
    _shows(output, "Part A: visible tests passed.")
    test_cell.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "lesson04-correct.png")

    wrong = implementation_code(ROOT / "tests" / "implementations" / "04_clipping_numpy"
                                / "wrong_value_no_order_check.py")["clip_by_value"]
    _replace_code(page, answer, wrong)
    _run_all(page)
    _shows(output, "should raise ValueError, but it returned normally")
    assert "AssertionError" in output.inner_text(), output.inner_text()
    test_cell.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "lesson04-wrong.png")
    page.close()


def test_validate_button_reports_success_on_a_completed_notebook(browser, lab):
    page = _open(browser, lab, COMPLETED_01)
    page.locator(f"{PANEL} .jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.get_by_text("Success! Your notebook passes all the tests.").wait_for(timeout=120_000)
    finally:
        page.screenshot(path=ARTIFACTS / "validate.png")

    page.close()


def test_solution_plot_renders_as_an_image(browser, lab):
    page = _open(browser, lab, SOLUTION_01)
    image = _cell(page, "def norms_along_the_product").locator(".jp-OutputArea-output img")
    image.scroll_into_view_if_needed()
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size[0] > 300 and size[1] > 200, f"the plot should render as an image; it is {size}"
    page.screenshot(path=ARTIFACTS / "solution-plot.png")
    page.close()
