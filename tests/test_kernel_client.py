"""The grading kernels' client (autograder.sandbox.SandboxedKernelClient): a kernel is ready once
both of its channels have answered kernel_info, without jupyter_client's 0.2 s of IOPub silence,
and a kernel that never answers, or dies, is still an error.

The channels here are stand-ins that hand out scripted messages, so that what is checked is which
messages the client waits for, not how long a machine takes.
"""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from autograder.sandbox import SandboxedKernelClient, SandboxedKernelManager


class ScriptedChannel:
    """A channel whose get_msg hands out `script` in order: a message, or Empty (nothing came
    within the timeout). It counts the calls."""

    def __init__(self, script: list) -> None:
        self.script, self.calls = list(script), 0

    async def get_msg(self, timeout=None):
        self.calls += 1
        if not self.script or self.script[0] is Empty:
            if self.script:
                self.script.pop(0)
            raise Empty
        return self.script.pop(0)


def _reply(request: str) -> dict:
    return {"msg_type": "kernel_info_reply", "parent_header": {"msg_id": request},
            "content": {"protocol_version": "5.3"}}


def _status(request: str, state: str) -> dict:
    return {"msg_type": "status", "parent_header": {"msg_id": request},
            "content": {"execution_state": state}}


class ScriptedClient(SandboxedKernelClient):
    """The client under test, with scripted channels and a kernel that is alive as long as
    `alive` says."""

    def __init__(self, shell: list, iopub: list, alive: bool = True) -> None:
        super().__init__(parent=SandboxedKernelManager())
        self.scripted_shell, self.scripted_iopub = ScriptedChannel(shell), ScriptedChannel(iopub)
        self.requests: list[str] = []
        self.alive = alive

    @property
    def shell_channel(self):
        return self.scripted_shell

    @property
    def iopub_channel(self):
        return self.scripted_iopub

    def kernel_info(self) -> str:
        self.requests.append(f"k{len(self.requests) + 1}")
        return self.requests[-1]

    async def _async_is_alive(self) -> bool:
        return self.alive


def test_ready_at_the_idle_status_of_kernel_info_without_waiting_for_silence():
    client = ScriptedClient(shell=[_reply("k1")],
                            iopub=[_status("k1", "busy"), _status("k1", "idle")])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.requests == ["k1"]
    # busy, idle, and no third read: jupyter_client's own client reads until 0.2 s pass silently
    assert client.iopub_channel.calls == 2


def test_a_kernel_info_that_iopub_missed_is_asked_again():
    """IOPub connected after the first answer went out: nothing comes, the client asks again,
    and the second request's idle status is the one that counts."""
    client = ScriptedClient(shell=[_reply("k1")],
                            iopub=[Empty, _status("k2", "busy"), _status("k2", "idle")])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.requests == ["k1", "k2"]


def test_messages_of_other_requests_do_not_make_the_kernel_ready():
    client = ScriptedClient(shell=[_reply("someone-else"), _reply("k1")],
                            iopub=[_status("someone-else", "idle"), _status("k1", "busy"),
                                   _status("k1", "idle")])
    asyncio.run(client.wait_for_ready(timeout=5))
    assert client.scripted_shell.script == [] and client.scripted_iopub.script == []


def test_a_kernel_that_died_before_answering_is_an_error():
    client = ScriptedClient(shell=[Empty], iopub=[], alive=False)
    with pytest.raises(RuntimeError, match="died before replying"):
        asyncio.run(client.wait_for_ready(timeout=5))


def test_a_kernel_that_never_answers_times_out():
    client = ScriptedClient(shell=[Empty] * 3, iopub=[], alive=True)
    with pytest.raises(RuntimeError, match="didn't respond in 0 seconds"):
        asyncio.run(client.wait_for_ready(timeout=0))


def test_a_real_sandboxed_kernel_is_ready_and_runs_code(tmp_path):
    async def run() -> str:
        manager = SandboxedKernelManager()
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        assert isinstance(client, SandboxedKernelClient)
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive("print(6 * 7)", timeout=60,
                                                     output_hook=outputs.append)
            assert reply["content"]["status"] == "ok", reply
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
        assert not await manager.is_alive()
        return "".join(message["content"].get("text", "") for message in outputs
                       if message["msg_type"] == "stream")

    outputs: list[dict] = []
    assert asyncio.run(run()) == "42\n"
