"""The classroom in a browser: an instructor and a learner click through lesson 01 on the hub.

Used by tests/test_hub.py (Playwright driving Debian's Chromium). Every step leaves a screenshot
in `artifacts` (test-artifacts/hub/), numbered in the order a person would see them:

instructor: log in, Formgrader → Generate and Release lesson 01;
learner:    log in, Assignments → Fetch, open the notebook, answer two exercises and the
            written question, save, Submit;
instructor: Collect, grade with the autograder in a JupyterLab terminal, start the server
            grade-01 from the hub's home page, grade the written answer by hand in its
            Formgrader, grade again, return the feedback (terminal);
learner:    Fetch Feedback, open it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import classroom  # deploy/jupyterhub/classroom.py, on sys.path through tests/test_hub.py

ASSIGNMENT = "01_vector_products"
NOTEBOOK = "vector_products.ipynb"
WRITTEN = "explain_seed_bugs"  # the grade id of lesson 01's written answer
MANUAL_POINTS = "2.5"
LONG = 180_000  # ms: a server start, a grading run


@dataclass
class Walk:
    browser: object              # a Playwright Browser
    hub_url: str                 # http://localhost:PORT
    passwords: dict[str, str]
    artifacts: Path
    seen: list[str] = field(default_factory=list)  # screenshots taken, in order

    def session(self, user: str):
        """A fresh browser context logged in as `user`, on a JupyterLab with a clean layout."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        # Every click, fill and wait of the walkthrough may take as long as a server start: on a
        # loaded 2-core machine a menu can take longer than Playwright's default 30 s to appear.
        context.set_default_timeout(LONG)
        page = context.new_page()
        page.goto(f"{self.hub_url}/hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", self.passwords[user])
        page.click("#login_submit")
        page.wait_for_url(re.compile(rf"/user/{user}/lab"))
        page.goto(page.url.split("/lab")[0] + "/lab?reset")
        page.wait_for_selector(".jp-LauncherCard")
        return page

    def shot(self, page, name: str) -> None:
        path = self.artifacts / f"{len(self.seen) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))
        self.seen.append(path.name)


def menu(page, top: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def formgrader(page):
    """Open nbgrader's Formgrader tab; its page, inside the tab's iframe."""
    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe")
    frame.locator("text=Manage Assignments").first.wait_for()
    return frame


def assignment_action(frame, column: str) -> None:
    """Click the icon in `column` of lesson 01's row, then close nbgrader's report of it."""
    row = frame.locator("tr", has=frame.locator("td.name", has_text=ASSIGNMENT))
    row.locator(f"td.{column} a").click()
    done = frame.locator("#success-modal")
    done.wait_for()
    done.locator("button", has_text="OK").click()
    done.wait_for(state="hidden")


def on_formgrader_page(frame, title: str) -> None:
    """Wait until the Formgrader shows the page whose breadcrumb ends in `title`.

    A click on a link only starts the navigation: until the next page has replaced this one, a
    locator for the next link still finds this page's links (the assignment's name is a link on
    the lists before and after), and under load a click then lands on the old page."""
    frame.locator("ol.breadcrumb li.active", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")) \
        .wait_for()


def open_listed(frame, name: str) -> None:
    """Click `name` in the Formgrader's list (its table, filled by the page's script once it has
    fetched the list) and wait for the page it opens."""
    frame.locator("#main-table a", has_text=re.compile(rf"^{re.escape(name)}$")).click()
    on_formgrader_page(frame, name)


def terminal(page, commands: list[str], done, seconds: float = 300) -> None:
    """Run `commands` in a new JupyterLab terminal; wait until `done()` (the terminal draws on
    a canvas, so what it printed cannot be read from the page)."""
    menu(page, "File", "New")
    page.click(".lm-Menu-itemLabel:text-is('Terminal')")
    screen = page.locator(".jp-Terminal:not(.lm-mod-hidden) .xterm-screen")
    screen.wait_for()
    screen.click()
    for command in commands:
        page.keyboard.insert_text(command)
        page.keyboard.press("Enter")
    wait_until(done, seconds, f"{commands} to finish")
    time.sleep(1)  # only for the screenshot: let the terminal draw its last lines


# True once nbgrader's formgrade.js has loaded a submission's grades and comments and bound a
# view (GradeUI, CommentUI) to each score and comment input; until then typing saves nothing.
# (Not `formgrader.loaded`: its init() stops before setting it when MathJax, from a CDN, is
# missing, as it is offline, after it has started both loads.)
FORMGRADER_BOUND = """(input) => {
    const grader = input.ownerDocument.defaultView.formgrader;
    return Boolean(grader && grader.grades && grader.grades.loaded
                   && grader.comments && grader.comments.loaded);
}"""


def wait_until(condition, seconds: float, what: str) -> None:
    """Poll `condition()` (what the page has done: files on disk, its script's state) until it
    holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.5)


def manual_score(out: Path, learner: str) -> float | None:
    """The written answer's hand-given points in the grading run's gradebook, once saved."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
            return gradebook.find_grade(WRITTEN, NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT,
                                        learner).manual_score
    except MissingEntry:
        return None


def replace_cell(page, marker: str, text: str) -> None:
    """Replace the source of the notebook cell that contains `marker`."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").filter(has_text=marker)
    cell = cell.first
    cell.scroll_into_view_if_needed()
    if "jp-MarkdownCell" in (cell.get_attribute("class") or ""):
        cell.dblclick()  # a rendered answer opens its editor on a double click
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")


def learner_hands_in(walk: Walk, learner: str, answers: dict[str, str], written: str) -> None:
    page = walk.session(learner)
    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    released.wait_for()
    walk.shot(page, "learner-assignments")
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    fetched.wait_for()
    fetched.locator("a.assignment-notebooks-link").click()  # unfold its notebooks
    page.locator("#fetched_assignments_list .assignment-notebooks a",
                 has_text=NOTEBOOK.removesuffix(".ipynb")).first.click()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for()
    for marker, code in answers.items():
        replace_cell(page, marker, code)
    replace_cell(page, "YOUR ANSWER HERE", written)
    walk.shot(page, "learner-notebook-answered")
    page.keyboard.press("Control+S")
    # Saved when the notebook's tab loses its unsaved-changes mark.
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached")
    page.click(".lm-TabBar-tabLabel:text-is('Assignments')")
    page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT) \
        .locator("button", has_text="Submit").first.click()
    page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT) \
        .first.wait_for()
    walk.shot(page, "learner-submitted")
    page.context.close()


def instructor_releases(walk: Walk, instructor: str) -> None:
    page = walk.session(instructor)
    frame = formgrader(page)
    walk.shot(page, "instructor-formgrader")
    assignment_action(frame, "assign")    # Generate
    assignment_action(frame, "release")   # Release
    frame.locator("tr", has=frame.locator("td.name", has_text=ASSIGNMENT)) \
        .locator("text=released").wait_for()
    walk.shot(page, "instructor-released")
    page.context.close()


def instructor_grades(walk: Walk, instructor: str, learner: str, course_root: Path) -> None:
    page = walk.session(instructor)
    frame = formgrader(page)
    assignment_action(frame, "collect")
    walk.shot(page, "instructor-collected")
    out = classroom.grading_folder(course_root, ASSIGNMENT)
    grade = (f"python -m autograder --course-root {course_root} grade {ASSIGNMENT} "
             f"{course_root / 'submitted'} --out {out}")
    graded = out / "walkthrough-graded"   # touched once the command has exited successfully
    terminal(page, [f"{grade} && touch {graded}"], done=graded.exists)
    walk.shot(page, "instructor-autograded")

    # The written answer, by hand: a second server, grade-01, whose Formgrader opens the run.
    page.goto(f"{walk.hub_url}/hub/home")
    page.fill("input.new-server-name", "grade-01")
    page.click(".new-server-btn")       # adds the server to the list ...
    page.click("#start-grade-01")        # ... and this starts it
    page.wait_for_url(re.compile(r"/user/[^/]+/grade-01/lab"))
    page.goto(page.url.split("/lab")[0] + "/lab?reset")  # both servers share one saved layout
    page.wait_for_selector(".jp-LauncherCard")
    frame = formgrader(page)
    frame.locator("ul.nav a", has_text="Manual Grading").click()
    on_formgrader_page(frame, "Manual Grading")
    open_listed(frame, ASSIGNMENT)
    open_listed(frame, NOTEBOOK.removesuffix(".ipynb"))
    frame.locator("#main-table a", has_text="Submission #1").click()
    points = frame.locator(f"input.score#{WRITTEN}")  # the written answer's points
    points.wait_for()
    # The page is served with its inputs, but they save nothing until formgrade.js, after the
    # window's load event, has fetched the submission's grades and comments and bound a view to
    # each input: a value typed before that is lost (and it happened under load).
    wait_until(lambda: points.evaluate(FORMGRADER_BOUND), LONG / 1000,
               "the formgrader to bind its score and comment inputs")
    points.scroll_into_view_if_needed()
    points.fill(MANUAL_POINTS)
    points.press("Tab")  # the formgrader saves a score when its field loses focus
    frame.locator(f"#{WRITTEN}-comment").fill("Right about the aliasing; say why 0.42 explodes.")
    frame.locator(f"#{WRITTEN}-comment").press("Tab")
    # The formgrader saves through its API: wait until the gradebook holds the points.
    wait_until(lambda: manual_score(out, learner) == float(MANUAL_POINTS), LONG / 1000,
               "the formgrader to save the hand-given points")
    walk.shot(page, "instructor-manual-grade")
    page.context.close()

    page = walk.session(instructor)
    back = f"python -m autograder return-feedback {ASSIGNMENT} --out {out}"
    # Not "the exchange holds feedback": the learner's feedback on another lesson is there
    # already (tests/test_hub.py returns one before), so only the commands' exit says done.
    returned = out / "walkthrough-returned"
    terminal(page, [f"{grade} && {back} && touch {returned}"], done=returned.exists)
    walk.shot(page, "instructor-feedback-returned")
    page.context.close()


def learner_reads_feedback(walk: Walk, learner: str) -> None:
    page = walk.session(learner)
    menu(page, "Nbgrader", "Assignment List")
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    submitted.locator("button", has_text="Fetch Feedback").click()
    # This lesson's link: the learner has feedback on another lesson too (tests/test_hub.py
    # grades one before), and the two are listed in no fixed order.
    link = submitted.locator("a", has_text="view feedback").first
    link.wait_for()
    walk.shot(page, "learner-feedback-fetched")
    # The link asks the file browser to go to the feedback's folder, which it lists some time
    # later: wait for the feedback file itself (JupyterLab titles each entry "Name: <name>...").
    link.click()
    feedback = NOTEBOOK.replace(".ipynb", ".html")
    page.locator(f".jp-DirListing-item[title^='Name: {feedback}']").dblclick()
    viewer = page.frame_locator(".jp-HTMLViewer:not(.lm-mod-hidden) iframe")
    viewer.locator("text=Score").first.wait_for()
    walk.shot(page, "learner-feedback")
    page.context.close()
