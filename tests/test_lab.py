"""`make lab` starts JupyterLab on course/, prints a URL with its token, and serves lesson 01."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

from helpers import ROOT

TOKEN_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_lab_serves_the_first_lesson(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as output:
        # Its own process group, so that stopping make also stops jupyter under it.
        lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    try:
        match = None
        deadline = time.monotonic() + 90
        while match is None and time.monotonic() < deadline and lab.poll() is None:
            time.sleep(0.5)
            match = TOKEN_URL.search(log.read_text())
        assert match, f"no URL with a token within 90 s:\n{log.read_text()[-3000:]}"
        assert int(match.group(1)) == port, "PORT= was not honoured"
        url = (f"http://127.0.0.1:{port}/api/contents/01_vector_products/"
               f"vector_products.ipynb?token={match.group(2)}")
        with urllib.request.urlopen(url, timeout=30) as response:
            notebook = json.load(response)
        assert notebook["type"] == "notebook"
        first = notebook["content"]["cells"][0]["source"]
        assert first.startswith("# Lesson 01"), first[:80]
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
