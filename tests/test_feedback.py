"""The feedback page: FeedbackExporter writes the page nbconvert's HTMLExporter writes.

nbconvert adds three accessibility attributes by parsing the whole page with BeautifulSoup and
printing it again; FeedbackExporter adds them in one pass over the tags
(autograder.feedback.accessible_html). Parsed with BeautifulSoup as nbconvert parses it, our page
must print exactly as nbconvert's: the same tags, the same attributes, the same text.
"""

from __future__ import annotations

import logging
import time

import nbformat
import pytest
from bs4 import BeautifulSoup
from helpers import source_notebook
from nbconvert.exporters import HTMLExporter
from traitlets.config import Config

from autograder import feedback
from autograder.feedback import MISSING_ALT, FeedbackExporter, accessible_html

PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU"
         "5ErkJggg==")
# A learner's own HTML output, with what a pass over the tags could get wrong.
LEARNER_HTML = """\
<IMG SRC="x.png"><img alt="" src="y.png"><img src='q.png' title="a > b"/>
<div class="jp-OutputArea-output extra" tabindex="-1">kept in place</div>
<div data-tabindex="3" class="jp-Cell-inputWrapper">two attributes</div>
<div class='jp-OutputArea-outputs'>not one of the classes</div>
<!-- <div class="jp-OutputArea-output"> in a comment --><p>after</p>
<script>let s = '<div class="jp-Cell-inputWrapper"><img src=z>';</script>
<style>div > img { border: 0 }</style>
<div
  class="jp-OutputArea-output">on two lines</div>
<script>never closed <img src=w> <div class="jp-OutputArea-output">
"""


def notebook_with_learner_html() -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("A *plot*:\n\n![](data:image/png;base64," + PIXEL + ")"),
             nbformat.v4.new_code_cell("display(HTML(page))", outputs=[
                 nbformat.v4.new_output("display_data", data={"text/html": LEARNER_HTML,
                                                              "text/plain": "<HTML>"}),
                 nbformat.v4.new_output("display_data", data={"image/png": PIXEL}),
                 nbformat.v4.new_output("stream", text="<img src=printed.png>\n")])]
    return nbformat.v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def nbconvert_page(notebook) -> str:
    return HTMLExporter().from_notebook_node(notebook)[0]


@pytest.mark.parametrize("notebook", [notebook_with_learner_html(),
                                      source_notebook("04_clipping_numpy")],
                         ids=["learner_html", "lesson_04"])
def test_feedback_page_is_nbconverts_tag_for_tag(notebook):
    ours = FeedbackExporter().from_notebook_node(notebook)[0]
    assert str(BeautifulSoup(ours, features="html.parser")) == nbconvert_page(notebook)


def test_missing_alternative_texts_are_counted_and_logged(caplog):
    html, missing = accessible_html(LEARNER_HTML)
    assert missing == 2, f"expected the two images without alt outside scripts, got {missing}"
    assert html.count(MISSING_ALT) == 2
    notebook = notebook_with_learner_html()
    with caplog.at_level(logging.WARNING):
        nbconvert_page(notebook)
        theirs = caplog.messages[:]
        FeedbackExporter().from_notebook_node(notebook)
    assert theirs == ["Alternative text is missing on 2 image(s)."]  # the markdown's has alt=""
    assert caplog.messages == theirs * 2


def test_pages_the_pass_cannot_read_as_tags_take_linear_time():
    # Thousands of scripts and comments left open, and tags never closed: each is scanned once.
    hostile = ("<script " * 20_000 + "<!-- " * 20_000 + '<div class="a" ' * 20_000) * 2
    started = time.perf_counter()
    html, _ = accessible_html(hostile)
    assert html == hostile
    assert time.perf_counter() - started < 5, "accessible_html backtracks on unclosed markup"


def notebook_in(lexer: str, source: str, cell_metadata: dict | None = None):
    cell = nbformat.v4.new_code_cell(source, metadata=cell_metadata or {}, id="the-cell")
    return nbformat.v4.new_notebook(cells=[cell], metadata={
        "language_info": {"name": "python", "pygments_lexer": lexer}})


# nbconvert's own warning for the page whose magics language is None.
@pytest.mark.filterwarnings("ignore:No lexer found for language None")
def test_pages_written_one_after_another_are_each_nbconverts():
    """The highlighted and cleaned code is kept between pages: a cell with the same source but
    another lexer, magics language (None is one) or formatter option must not get the page
    before's, and the same cell again must be served from what was kept."""
    source = "%timeit echo $HOME  # <b>not bold</b>\nx = [i ** 2 for i in range(3)]\n"
    config = Config()
    config.Highlight2HTML.extra_formatter_options = {"linenos": "inline"}
    pages = [(notebook_in("ipython3", source), None),
             (notebook_in("python", source), None),
             (notebook_in("ipython3", source, {"magics_language": "html"}), None),
             (notebook_in("ipython3", source), config),
             (notebook_in("ipython3", source, {"magics_language": None}), None)]
    written, before = [], len(feedback._HIGHLIGHTED.kept)
    for notebook, settings in pages:
        kwargs = {"config": settings} if settings else {}
        written.append(_ours_if_nbconverts(notebook, **kwargs))
    assert len(set(written)) == len(pages), "each setting gives a page of its own"
    kept = len(feedback._HIGHLIGHTED.kept)
    assert kept > before, "no highlighted cell was kept"
    assert _ours_if_nbconverts(pages[0][0]) == written[0], "the same notebook, the same page"
    assert len(feedback._HIGHLIGHTED.kept) == kept, "the same cell was highlighted again"
    long_cell = notebook_in("ipython3", "y = 1  # " + "z" * feedback.CACHED_CHARACTERS)
    _ours_if_nbconverts(long_cell)
    assert len(feedback._HIGHLIGHTED.kept) == kept, "a cell too long to keep was kept"


def _ours_if_nbconverts(notebook, **kwargs) -> str:
    ours = FeedbackExporter(**kwargs).from_notebook_node(notebook)[0]
    theirs = HTMLExporter(**kwargs).from_notebook_node(notebook)[0]
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    return ours


def test_the_kept_results_stay_within_their_bounds(monkeypatch):
    """A class of distinct, long cells must not grow the worker's memory without end, and what
    goes first is what was used least recently."""
    monkeypatch.setattr(feedback, "CACHED_TOTAL_CHARACTERS", 1_000_000)
    results = feedback._Results()
    for index in range(200):  # 200 cells of 50 k characters, each a result of 50 k
        source = f"x_{index} = 1\n" + "#" * 50_000
        assert results.get((source,), lambda source=source: source.upper()) == source.upper()
    assert 0 < results.characters <= 1_000_000, results.characters
    assert results.characters == sum(2 * len(key[0]) for key in results.kept)
    last = f"x_{199} = 1\n" + "#" * 50_000
    assert (last,) in results.kept, "the most recent result is kept"
    monkeypatch.setattr(feedback, "CACHED_RESULTS", 3)
    for index in range(5):
        results.get((str(index),), lambda: "y")
    assert list(results.kept) == [("2",), ("3",), ("4",)]
    results.get(("2",), lambda: "not computed again")  # used: it becomes the most recent
    results.get(("5",), lambda: "y")
    assert list(results.kept) == [("4",), ("2",), ("5",)], "the least recently used goes first"
    assert results.kept[("2",)] == "y"
