"""Feedback that keeps the hidden tests hidden: an nbgrader preprocessor for `generate_feedback`.

nbgrader's feedback is the autograded notebook as HTML, and the autograded notebook holds every
hidden test, restored into its test cell. Handing that back publishes the hidden tests
(jupyter/nbgrader#917, #1363). `HideHiddenTests` runs in `GenerateFeedback.preprocessors`, after
`GetGrades` has read the scores, and before the notebook becomes HTML:

- each hidden-test region leaves its cell's source, as in the released notebook, and a comment
  says that hidden tests ran there;
- an error raised in a cell that held hidden tests keeps its type and message (the assertion
  message, written for learners) but not its traceback, whose frames quote the test's code;
- any line of a hidden test that turns up in an output (printed by the learner's code, which can
  read its caller's frame) is replaced by a note.

`FeedbackExporter` is the HTML exporter `GenerateFeedback` uses (its `exporter_class`): nbconvert's
own, with two costs of each learner's feedback taken out:

- nbgrader makes a new exporter, and so a new Jinja environment, for every learner, which would
  compile the same nine templates again each time: the compiled templates are kept;
- once the template is rendered, nbconvert parses the whole page (300 kB, 5,000 tags) with
  BeautifulSoup to add three accessibility attributes and prints it again, 90 ms of a 200 ms
  feedback. `accessible_html` adds the same attributes to the same tags in one pass of a regular
  expression over the tags (tests/test_feedback.py checks that the page is the one nbconvert
  writes, tag for tag);
- most of a class's code cells are the same for every learner (the lesson's setup and tests),
  and nbconvert highlights each with pygments and cleans the result with bleach, the most costly
  part of a page once the two above are gone. Both are pure functions of their input, so a worker
  keeps the last results (`_Results`) and gives the next learner the same text for the same cell.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters import clean_html
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader.preprocessors import ClearHiddenTests

from autograder.kernel_guard import GUARD_MIME

HIDDEN_NOTE = "# Hidden tests ran here too; their code stays with the instructor."
SCRUBBED_LINE = "[a line of a hidden test, not shown]"
# Lines shorter than this ("else:", ")") say nothing about a test; they stay in outputs.
MIN_SCRUBBED_LENGTH = 8
TEXT_MIME_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")


class HideHiddenTests(ClearHiddenTests):
    """Remove the hidden tests' code from the notebook that becomes the feedback."""

    def preprocess(self, nb, resources):
        splits = [_split(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
                  for cell in nb.cells]
        self._hidden_lines = _hidden_lines(splits)
        for cell, (public, hidden) in zip(nb.cells, splits, strict=True):
            if cell.cell_type == "code":
                self._hide_in_cell(cell, public, had_hidden_tests=bool(hidden))
        return nb, resources

    def _hide_in_cell(self, cell, public: list[str], had_hidden_tests: bool) -> None:
        if had_hidden_tests:
            cell.source = "\n".join(public).rstrip("\n") + "\n" + HIDDEN_NOTE
        # The kernel guard's report is for the grader; the learner reads its stderr line.
        cell.outputs = [output for output in cell.get("outputs", [])
                        if GUARD_MIME not in output.get("data", {})]
        for output in cell.outputs:
            if output.output_type == "error":
                if had_hidden_tests:
                    output.traceback = [f"{output.ename}: {output.evalue}"]
                output.evalue = self._scrub(output.evalue)
                output.traceback = [self._scrub(line) for line in output.traceback]
            elif output.output_type == "stream":
                output.text = self._scrub(output.text)
            else:
                data = output.get("data", {})
                for mime in TEXT_MIME_TYPES:
                    if isinstance(data.get(mime), str):
                        data[mime] = self._scrub(data[mime])

    def _scrub(self, text: str) -> str:
        if not self._hidden_lines:
            return text
        return "\n".join(SCRUBBED_LINE if line.strip() in self._hidden_lines else line
                         for line in text.split("\n"))


def _hidden_lines(splits: list[tuple[list[str], list[str]]]) -> frozenset[str]:
    """The stripped lines that only the notebook's hidden-test regions hold, from each cell's
    (public lines, hidden lines)."""
    public = {line.strip() for cell_public, _ in splits for line in cell_public}
    hidden = {line.strip() for _, cell_hidden in splits for line in cell_hidden}
    return frozenset(line for line in hidden - public if len(line) >= MIN_SCRUBBED_LENGTH)


def _split(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(the lines outside hidden-test regions, the lines inside them). Unlike nbgrader's
    ClearHiddenTests, which raises, a region left open runs to the end of the cell: a learner who
    writes the marker into an answer must not stop the feedback."""
    public, hidden, inside = [], [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        else:
            (hidden if inside else public).append(line)
    return public, hidden


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in this process's memory. Jinja keys each by the
    template's name and checks it against the template's source, so an edited template is
    compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


# What a worker keeps of the filters' results: enough for a class's cells, bounded in memory
# whatever the learners write. Inputs of CACHED_CHARACTERS or more are not kept; the others, at
# most CACHED_RESULTS of them and CACHED_TOTAL_CHARACTERS of keys and results together in each
# cache (a hostile class of distinct cells costs at most ~40 MB a cache, at 4 bytes a character).
CACHED_RESULTS = 2048
CACHED_CHARACTERS = 100_000
CACHED_TOTAL_CHARACTERS = 10_000_000


class _Results:
    """The results of a pure function, by key, the least recently used dropped first."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple, str] = OrderedDict()
        self.characters = 0

    def get(self, key: tuple, compute) -> str:
        if key in self.kept:
            self.kept.move_to_end(key)
            return self.kept[key]
        result = compute()
        self.kept[key] = result
        self.characters += _size(key, result)
        while self.kept and (len(self.kept) > CACHED_RESULTS
                             or self.characters > CACHED_TOTAL_CHARACTERS):
            self.characters -= _size(*self.kept.popitem(last=False))
        return result


def _size(key: tuple, result: str) -> int:
    return sum(len(part) for part in key if isinstance(part, str)) + len(result)


def _keepable(text) -> bool:
    """Whether a filter's input may be kept: text (nbconvert also passes bytes), not too long."""
    return isinstance(text, str) and len(text) < CACHED_CHARACTERS


_CLEANED = _Results()
_HIGHLIGHTED = _Results()


def cached_clean_html(element) -> str:
    """nbconvert's clean_html filter (bleach, with nbconvert's allowed tags), computed once for
    each text."""
    if not _keepable(element):
        return clean_html(element)
    return _CLEANED.get((element,), lambda: clean_html(element))


class CachedHighlight:
    """nbconvert's Highlight2HTML filter, computed once for each cell source and the settings
    its result depends on (the lexer, the formatter's options, the cell's magics language)."""

    def __init__(self, highlight: Highlight2HTML) -> None:
        self.highlight = highlight

    def __call__(self, source, language=None, metadata=None):
        if not _keepable(source):
            return self.highlight(source, language, metadata)
        # nbconvert asks whether the cell's metadata has a magics language, then uses its value
        # (None too): a cell without one and a cell with None are highlighted differently.
        metadata = metadata or {}
        magics = repr(metadata["magics_language"]) if "magics_language" in metadata else ""
        key = (self.highlight.pygments_lexer, repr(sorted(
            self.highlight.extra_formatter_options.items())), source, language, magics)
        return _HIGHLIGHTED.get(key, lambda: self.highlight(source, language, metadata))


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, with the compiled templates and the highlighted, cleaned code
    shared by every learner's, and the accessibility attributes added without parsing the page."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED_TEMPLATES
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node (nbconvert 7.17), up to its BeautifulSoup pass.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get("highlight_code",
                                          Highlight2HTML(pygments_lexer=lexer, parent=self))
        # nbconvert's own, not a filter or a subclass configured in its place (whose result may
        # depend on more than the key holds).
        if type(highlight_code) is Highlight2HTML:
            highlight_code = CachedHighlight(highlight_code)
        if "clean_html" not in self.filters:
            self.register_filter("clean_html", cached_clean_html)
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                 parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html, missing_alt = accessible_html(html)
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return html, resources


# What nbconvert's HTMLExporter gives each image without alternative text.
MISSING_ALT = "No description has been provided for this image"
# The cells' input and output areas, which nbconvert makes reachable with the keyboard.
FOCUSABLE_CLASSES = ("jp-Cell-inputWrapper", "jp-OutputArea-output")
# An HTML attribute's name and its value, quoted or not (a quoted value may hold ">").
_NAME = r"""[^\s"'>/=]+"""
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'>]+)"""
# A script, a style sheet or a comment (their text is not markup, and stays as it is; one left
# open runs to the end, as in a browser, so that no text is scanned twice), or the start tag of
# an image or a division with its attributes.
_MARKUP = re.compile(
    r"""<script\b.*?(?:</script\s*>|\Z)|<style\b.*?(?:</style\s*>|\Z)|<!--.*?(?:-->|\Z)"""
    rf"""|<(?P<tag>img|div)(?P<attributes>(?:\s+{_NAME}(?:\s*=\s*{_VALUE})?)*)(?P<end>\s*/?>)""",
    re.IGNORECASE | re.DOTALL)
_ATTRIBUTE = re.compile(rf"""({_NAME})(?:\s*=\s*({_VALUE}))?""")
_TABINDEX = re.compile(rf"""(?<=\s)tabindex(?:\s*=\s*{_VALUE})?""", re.IGNORECASE)


def accessible_html(html: str) -> tuple[str, int]:
    """(`html` with the attributes nbconvert's HTMLExporter adds, the number of images that had
    no alternative text): alt on each <img> without one, tabindex="0" on each <div> of the
    FOCUSABLE_CLASSES (an attribute that is there already gets the new value, as BeautifulSoup
    sets it)."""
    missing_alt = 0

    def tag(match: re.Match) -> str:
        nonlocal missing_alt
        if match["tag"] is None:
            return match[0]
        attributes = {name.lower(): value for name, value
                      in _ATTRIBUTE.findall(match["attributes"])}
        if match["tag"].lower() == "img":
            if "alt" in attributes:
                return match[0]
            missing_alt += 1
            added = f' alt="{MISSING_ALT}"'
        else:
            classes = attributes.get("class", "").strip("\"'").split()
            if not any(name in classes for name in FOCUSABLE_CLASSES):
                return match[0]
            if "tabindex" in attributes:  # set in place, where the learner's HTML has one
                kept = _TABINDEX.sub('tabindex="0"', match["attributes"], count=1)
                return f"<{match['tag']}{kept}{match['end']}"
            added = ' tabindex="0"'
        return f"<{match['tag']}{match['attributes']}{added}{match['end']}"

    return _MARKUP.sub(tag, html), missing_alt
