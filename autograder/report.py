"""OUT/report.html: one self-contained page that shows an instructor how a class did.

The score distribution, each graded cell's pass rate, the most frequent failure messages of each
cell with how many learners hit them, status counts, the learners flagged for review, similar
hand-ins (autograder.similarity) and the grading time. Plots are matplotlib PNGs embedded as
data URIs, so the page opens from disk, can be mailed, and needs no server.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# How many distinct failure messages a cell lists (the rest are counted as "other").
TOP_MESSAGES = 5
# How many similar pairs the page lists (similarity.csv has them all).
TOP_PAIRS = 20
# Messages that differ only in numbers (each learner's wrong value) are one kind of failure.
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #a40000; font-weight: 600; } .muted { color: #666; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class ClassSummary:
    """What the report shows of one grading run (autograder.grade fills it in)."""

    assignment: str
    rows: list          # autograder.grade.GradeRow, one per learner and notebook
    cells: dict         # notebook -> [GradeCell]
    pairs: list         # autograder.similarity.SimilarPair
    wall_seconds: float
    graded_by: str      # "2 jobs on this machine", "a Dask cluster"


def write_report(summary: ClassSummary, path: Path) -> None:
    path.write_text(render(summary), encoding="utf-8")


def render(summary: ClassSummary) -> str:
    title = f"Grading report: {summary.assignment}"
    learners = sorted({row.student_id for row in summary.rows})
    sections = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='muted'>{len(learners)} learners, graded {datetime.now():%Y-%m-%d %H:%M} "
        f"in {summary.wall_seconds:.0f} s by {_e(summary.graded_by)}. Grades: "
        "<code>grades.csv</code>; feedback: <code>feedback/</code>; similar pairs: "
        "<code>similarity.csv</code>.</p>",
        _status_section(summary),
        *(_notebook_section(summary, notebook) for notebook in summary.cells),
        _review_section(summary),
        _similarity_section(summary),
        _time_section(summary),
    ]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>")


def _status_section(summary: ClassSummary) -> str:
    counts = Counter(row.outcome.status.value for row in summary.rows)
    body = "".join(f"<tr><td>{_e(kind)}</td><td class='n'>{count}</td></tr>"
                   for kind, count in counts.most_common())
    return ("<h2>Status</h2><table id='status'><tr><th>status</th><th>notebooks</th></tr>"
            f"{body}</table>")


def _notebook_section(summary: ClassSummary, notebook: str) -> str:
    cells = summary.cells[notebook]
    rows = [row for row in summary.rows if row.notebook == notebook and row.outcome.was_run]
    maximum = sum(cell.points for cell in cells)
    parts = [f"<h2>{_e(notebook)}</h2>"]
    if not rows:
        return parts[0] + "<p>No hand-in of this notebook could be graded.</p>"
    totals = [sum(score or 0.0 for score in row.scores.values()) for row in rows]
    parts.append(f"<p>{len(rows)} hand-ins graded; mean {sum(totals) / len(totals):.1f} "
                 f"of {maximum:g} points (written answers not yet graded count 0).</p>")
    parts.append(_image(_score_histogram(totals, maximum, notebook),
                        f"score distribution of {notebook}"))
    auto = [cell for cell in cells if not cell.manual]
    passed = {cell.grade_id: sum(1 for row in rows
                                 if (row.scores.get(cell.grade_id) or 0) >= cell.points)
              for cell in auto}
    if auto:
        parts.append(_image(_pass_rate_chart(auto, passed, len(rows), notebook),
                            f"pass rate of each graded cell of {notebook}"))
    parts.append("<h3>Graded cells and their most frequent failures</h3>"
                 "<table class='cells'><tr><th>cell</th><th>points</th><th>full marks</th>"
                 "<th>failure messages (learners)</th></tr>")
    for cell in cells:
        if cell.manual:
            waiting = sum(1 for row in rows if row.scores.get(cell.grade_id) is None)
            parts.append(f"<tr><td>{_e(cell.grade_id)}</td><td class='n'>{cell.points:g}</td>"
                         f"<td class='muted'>graded by hand</td><td>{waiting} awaiting "
                         "manual grading</td></tr>")
            continue
        messages = _message_kinds(row.failures[cell.grade_id] for row in rows
                                  if cell.grade_id in row.failures)
        parts.append(f"<tr><td>{_e(cell.grade_id)}</td><td class='n'>{cell.points:g}</td>"
                     f"<td class='n'>{passed[cell.grade_id]} of {len(rows)}</td>"
                     f"<td>{_messages(messages)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def _message_kinds(messages) -> Counter:
    """{the first message of each kind: how many learners got one of that kind}, where messages
    of one kind differ only in their numbers."""
    examples: dict[str, str] = {}
    counts: Counter = Counter()
    for message in messages:
        kind = NUMBER.sub("#", message)
        counts[examples.setdefault(kind, message)] += 1
    return counts


def _messages(messages: Counter) -> str:
    if not messages:
        return "<span class='muted'>none</span>"
    shown = messages.most_common(TOP_MESSAGES)
    items = "".join(f"<li><code>{_e(text)}</code> ({count} learner{'' if count == 1 else 's'})"
                    "</li>" for text, count in shown)
    rest = sum(messages.values()) - sum(count for _, count in shown)
    more = f"<li class='muted'>other messages ({rest})</li>" if rest else ""
    return f"<ul>{items}{more}</ul>"


def _review_section(summary: ClassSummary) -> str:
    flagged = [row for row in summary.rows
               if row.review or not row.outcome.has_grades]
    if not flagged:
        return "<h2>Flagged for review</h2><p>No learner.</p>"
    body = "".join(f"<tr><td>{_e(row.student_id)}</td><td>{_e(row.notebook)}</td>"
                   f"<td>{_e(row.status)}</td><td>{_e('; '.join(row.review))}</td></tr>"
                   for row in flagged)
    return ("<h2>Flagged for review</h2><table id='review'><tr><th>learner</th><th>notebook</th>"
            f"<th>status</th><th>why to look</th></tr>{body}</table>")


def _similarity_section(summary: ClassSummary) -> str:
    from autograder.similarity import FLAG_FROM

    intro = (f"<h2>Similar hand-ins</h2><p>Pairs whose answer cells share at least "
             f"{FLAG_FROM:.0%} of their fingerprints once names, comments, layout and the "
             "released stubs are set aside (winnowing, as MOSS). A flag is a reason to read "
             "both hand-ins, not a finding; grades are unchanged.</p>")
    if not summary.pairs:
        return intro + "<p>No pair of hand-ins is unusually alike.</p>"
    body = "".join(
        f"<tr><td>{_e(pair.student_a)}</td><td>{_e(pair.student_b)}</td>"
        f"<td>{_e(pair.notebook)}</td><td class='n'>{pair.similarity:.0%}</td>"
        f"<td class='n'>{pair.shared}</td>"
        f"<td>{'<span class=flag>flagged</span>' if pair.flagged else ''}</td></tr>"
        for pair in summary.pairs[:TOP_PAIRS])
    return (intro + "<table id='similarity'><tr><th>learner</th><th>learner</th>"
            "<th>notebook</th><th>similarity</th><th>shared fingerprints</th><th></th></tr>"
            f"{body}</table>")


def _time_section(summary: ClassSummary) -> str:
    # One figure per learner (a learner's notebooks are graded together).
    seconds = list({row.student_id: row.seconds for row in summary.rows
                    if row.seconds is not None}.values())
    text = (f"<h2>Grading time</h2><p>The whole run: {summary.wall_seconds:.0f} s. ")
    if not seconds:
        return text + "No learner was autograded in this run.</p>"
    text += (f"Per learner: median {sorted(seconds)[len(seconds) // 2]:.1f} s, longest "
             f"{max(seconds):.1f} s.</p>")
    return text + _image(_time_histogram(seconds), "grading time per learner")


def _score_histogram(totals: list[float], maximum: float, notebook: str):
    figure, axes = _figure()
    axes.hist(totals, bins=min(20, max(1, int(maximum)) + 1), range=(0, max(maximum, 1)),
              color="#4472c4", edgecolor="white")
    axes.set(title=f"Scores, {notebook}", xlabel=f"points (of {maximum:g})",
             ylabel="hand-ins")
    return figure


def _pass_rate_chart(cells: list, passed: dict[str, int], graded: int, notebook: str):
    figure, axes = _figure(height=0.6 + 0.35 * len(cells))
    names = [cell.grade_id for cell in cells][::-1]
    rates = [100 * passed[name] / graded for name in names]
    axes.barh(names, rates, color="#70ad47")
    axes.set(title=f"Full marks per graded cell, {notebook}", xlabel="hand-ins with full marks (%)",
             xlim=(0, 100))
    return figure


def _time_histogram(seconds: list[float]):
    figure, axes = _figure()
    axes.hist(seconds, bins=20, color="#a5a5a5", edgecolor="white")
    axes.set(title="Grading time per learner", xlabel="seconds (kernel start to feedback)",
             ylabel="learners")
    return figure


def _figure(height: float = 3.0):
    import matplotlib

    matplotlib.use("Agg")  # no display: the grader may run on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, max(2.5, height)), layout="constrained")
    return figure, axes


def _image(figure, alt: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<p><img alt='{_e(alt)}' src='data:image/png;base64,{data}'></p>"


def _e(text) -> str:
    return html.escape(str(text), quote=True)
