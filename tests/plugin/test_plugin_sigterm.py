"""SIGTERM ends a session the way Ctrl-C does: teardowns run and the evidence is published.

CI cancels a job with SIGTERM. Without a handler the process dies on the spot: no bundle,
and an embedded staging left running. The session here records one measurement, then sits in
a long step; the test terminates it by its own pid and reads back what it left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plugin_helpers import PROFILE

SLOW_STEPS = """\
import time

from pytest_bdd import given, scenarios, then

scenarios("slow.feature")


@given("a measurement is recorded")
def _measure(mc_evidence, tmp_path_factory):
    mc_evidence.measure("replication_lag", 12, tenant="TENANT_004", source="scrape")


@then("the step waits a long time")
def _wait(request):
    request.addfinalizer(lambda: open("teardown-ran", "w").close())
    time.sleep(120)
"""

SLOW_FEATURE = """\
Feature: A long wait

  @tenant:TENANT_004
  Scenario: Waiting
    Given a measurement is recorded
    Then the step waits a long time
"""


def test_sigterm_publishes_the_evidence_and_runs_teardowns(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    pytester.makefile(".yaml", profile=PROFILE)
    pytester.makefile(".feature", slow=SLOW_FEATURE)
    pytester.makepyfile(test_slow=SLOW_STEPS)
    chain = pytester.path / "dist" / "evidence-v0.3.1-mc.chain.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "mc", "-p", "no:cacheprovider",
         "--mc-target", "profile.yaml", "--mc-out", "dist"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (chain.is_file() and '"measurement"' in chain.read_text()):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the session never recorded its measurement"
            time.sleep(0.1)
        time.sleep(0.5)  # into the long step
        os.kill(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0, output
    assert (pytester.path / "teardown-ran").exists(), output
    bundle = pytester.path / "dist" / "evidence-v0.3.1-mc.json"
    assert bundle.is_file(), output
    kinds = [json.loads(line)["body"]["kind"] for line in chain.read_text().splitlines()]
    assert kinds[-1] == "run_finished", kinds
    assert "measurement" in kinds
    document = json.loads(bundle.read_text())
    assert [m["value"] for m in document["tenants"]["TENANT_004"]["measurements"]] == [12]


def test_the_previous_sigterm_handler_is_back_after_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    pytester.makefile(".yaml", profile=PROFILE)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    before = signal.getsignal(signal.SIGTERM)
    result = pytester.runpytest_inprocess(
        "-p", "mc", "-p", "no:cacheprovider", "--mc-target", "profile.yaml", "--mc-out", "dist"
    )
    assert result.ret == 0
    assert signal.getsignal(signal.SIGTERM) is before
    assert Path(pytester.path / "dist" / "evidence-v0.3.1-mc.json").is_file()
