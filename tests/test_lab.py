"""`make lab` starts JupyterLab on course/, prints a URL with its token that opens lesson 01,
serves the lesson, and stops at the first Ctrl-C.

It runs in a pseudo-terminal, as in a learner's terminal: Ctrl-C there is the byte 0x03, which
the terminal turns into SIGINT for make and jupyter together.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import subprocess
import termios
import threading
import time
import urllib.request

from helpers import ROOT, free_port

TOKEN_URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/\S*)\?token=([0-9a-f]+)")
FIRST_LESSON = "01_vector_products/vector_products.ipynb"
CTRL_C = b"\x03"


def _in_own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty on stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Screen:
    """Everything the program in the pseudo-terminal has written so far."""

    def __init__(self, master: int) -> None:
        self.text = ""
        self._master = master
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.text += chunk.decode(errors="replace")


def test_make_lab_serves_the_first_lesson_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    master, slave = pty.openpty()
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT,
                           stdin=slave, stdout=slave, stderr=slave, preexec_fn=_in_own_terminal,
                           env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    os.close(slave)
    screen = Screen(master)
    try:
        match = None
        deadline = time.monotonic() + 90
        while match is None and time.monotonic() < deadline and lab.poll() is None:
            time.sleep(0.5)
            match = TOKEN_URL.search(screen.text)
        assert match, f"no URL with a token within 90 s:\n{screen.text[-3000:]}"
        assert int(match.group(1)) == port, "PORT= was not honoured"
        assert match.group(2) == f"/lab/tree/{FIRST_LESSON}", "the URL should open lesson 01"
        url = f"http://127.0.0.1:{port}/api/contents/{FIRST_LESSON}?token={match.group(3)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            notebook = json.load(response)
        assert notebook["type"] == "notebook"
        first = notebook["content"]["cells"][0]["source"]
        assert first.startswith("# Lesson 01"), first[:80]

        os.write(master, CTRL_C)  # once: no confirmation question, no second Ctrl-C
        lab.wait(timeout=30)
        assert "Shutting down" in screen.text, screen.text[-2000:]
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
        os.close(master)
