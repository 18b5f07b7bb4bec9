"""The HTML report step: finding Allure 3, naming the report, and what a failure does to a run.

Allure itself is replaced here by small executables that behave like a broken or foreign
`allure`; the real Allure 3 renders a real run in tests/integration/reporting.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from pytest_mc.errors import InputError, TargetError, ToolMissingError
from pytest_mc.reporting.allure_html import (
    AllureCommand,
    generate_html_report,
    locate_allure,
    remote_loads,
    report_after_run,
    report_file,
    report_name,
)

RELEASE = "v0.3.1-mc"

FAILING_ALLURE = """\
#!/bin/sh
if [ "$1" = "--version" ]; then echo 3.18.0; exit 0; fi
echo "reading results" >&2
echo "boom: cannot read the results" >&2
exit 1
"""

ALLURE_2 = """\
#!/bin/sh
echo 2.30.0
"""


def page_writing_allure(page: str) -> str:
    """An `allure` that writes `page` (a Python expression over its `config`) where its config
    says, reading paths relative to its own working directory as Allure does."""
    return f"""\
#!{sys.executable}
import json, pathlib, sys
if sys.argv[1] == "--version":
    sys.exit(print("3.18.0"))
config = json.loads(pathlib.Path(sys.argv[sys.argv.index("--config") + 1]).read_text())
output = pathlib.Path(config["output"])
output.mkdir(parents=True)
(output / "index.html").write_text({page})
"""


# Writes the page Allure would write, with a script loaded from the network in it.
TRACKING_ALLURE = page_writing_allure(
    """'<html><script async src="https://tracker.invalid/t.js"></script></html>'"""
)

# Writes a clean page titled with the report's name.
CLEAN_ALLURE = page_writing_allure('"<html>" + config["name"] + "</html>"')


def fake_allure(directory: Path, text: str) -> AllureCommand:
    """`directory/node_modules/.bin/allure` running `text`, as locate_allure finds it."""
    executable(directory, text)
    return locate_allure(search=[directory])


def executable(directory: Path, text: str) -> Path:
    path = directory / "node_modules" / ".bin" / "allure"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def run_directory(tmp_path: Path) -> Path:
    """A run's --out as `mc-verify run` leaves it: results, chain, and an earlier report."""
    out = tmp_path / "out"
    results = out / "allure-results"
    results.mkdir(parents=True)
    (results / "0b8e-result.json").write_text('{"name": "a scenario", "status": "passed"}')
    (out / f"evidence-{RELEASE}.chain.jsonl").write_text('{"seq": 0}\n')
    report_file(out, RELEASE).write_text("<html>the previous report</html>")
    return out


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_missing_allure_names_where_it_looked_and_the_set_up_command(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as caught:
        locate_allure(search=[tmp_path])
    assert str(caught.value) == (
        f"Allure 3 not found: no {tmp_path}/node_modules/.bin/allure and no allure on PATH; "
        "run ./tasks setup (npm ci installs the npm package allure from package-lock.json)"
    )


def test_an_allure_that_is_not_allure_3_is_refused(tmp_path: Path) -> None:
    path = executable(tmp_path, ALLURE_2)
    with pytest.raises(ToolMissingError) as caught:
        locate_allure(search=[tmp_path])
    assert str(caught.value) == (
        f"allure at {path} is version '2.30.0', not Allure 3; run ./tasks setup to install "
        "Allure 3 into node_modules/ (it is found before PATH)"
    )


def test_allure_3_is_found_with_its_version(tmp_path: Path) -> None:
    path = executable(tmp_path, FAILING_ALLURE)
    assert locate_allure(search=[tmp_path / "absent", tmp_path]) == AllureCommand(
        path=path, version="3.18.0"
    )


def test_failed_generation_makes_a_clean_run_exit_3_and_leaves_the_run_as_it_was(
    tmp_path: Path,
) -> None:
    out = run_directory(tmp_path)
    allure = fake_allure(tmp_path / "tools", FAILING_ALLURE)
    before = snapshot(out)
    said: list[str] = []
    assert report_after_run(out, RELEASE, 0, said.append, allure=allure) == 3
    assert said == [
        f"error: allure report not generated: allure generate failed for "
        f"{out / 'allure-results'} (exit 1): boom: cannot read the results"
    ]
    assert snapshot(out) == before  # results, chain and the earlier report untouched


@pytest.mark.parametrize("code", [1, 2, 3])
def test_failed_generation_keeps_a_run_that_already_failed_at_its_own_code(
    tmp_path: Path, code: int
) -> None:
    out = run_directory(tmp_path)
    allure = fake_allure(tmp_path / "tools", FAILING_ALLURE)
    said: list[str] = []
    assert report_after_run(out, RELEASE, code, said.append, allure=allure) == code
    assert said[0].startswith("error: allure report not generated: ")


def test_a_report_that_would_load_from_the_network_is_not_published(tmp_path: Path) -> None:
    out = run_directory(tmp_path)
    allure = fake_allure(tmp_path / "tools", TRACKING_ALLURE)
    with pytest.raises(TargetError, match=r"loads https://tracker\.invalid/t\.js from the network"):
        generate_html_report(
            out / "allure-results", report_file(out, RELEASE), name="n", allure=allure
        )
    assert report_file(out, RELEASE).read_text() == "<html>the previous report</html>"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_without_results_there_is_nothing_to_render(tmp_path: Path) -> None:
    (tmp_path / "allure-results").mkdir()
    with pytest.raises(InputError, match=r"no Allure results in .*allure-results"):
        generate_html_report(tmp_path / "allure-results", tmp_path / "r.html", name="n")
    said: list[str] = []
    assert report_after_run(tmp_path, RELEASE, 0, said.append) == 0
    assert said == [f"allure report: not generated, no results in {tmp_path / 'allure-results'}"]


def test_report_names_say_release_and_rehearsal() -> None:
    assert (
        report_name(RELEASE, rehearsal=True, time_scales=(600.0,))
        == "MC v0.3.1-mc: REHEARSAL at time scale 600 (cannot satisfy a GA DoD item)"
    )
    assert (
        report_name(RELEASE, rehearsal=False, time_scales=(1.0,))
        == "MC v0.3.1-mc: staging verification at time scale 1"
    )
    assert (
        report_name(RELEASE, rehearsal=None)
        == "MC v0.3.1-mc (no evidence bundle: whether it was a rehearsal is unknown)"
    )


def test_report_names_say_draft_catalog_beside_rehearsal() -> None:
    assert report_name(
        RELEASE, rehearsal=True, time_scales=(600.0,), draft_catalog="draft catalog 1.1.0"
    ) == (
        "MC v0.3.1-mc: REHEARSAL at time scale 600, DRAFT CATALOG 1.1.0 (cannot satisfy a DoD item)"
    )
    assert report_name(
        RELEASE, rehearsal=False, time_scales=(1.0,), draft_catalog="draft catalog 1.1.0"
    ) == (
        "MC v0.3.1-mc: staging verification at time scale 1, DRAFT CATALOG 1.1.0 (cannot "
        "satisfy a DoD item)"
    )


def test_remote_loads_are_scripts_styles_and_images_from_other_hosts() -> None:
    page = (
        '<script async src="https://tag.invalid/gtag.js"></script>'
        "<link rel=stylesheet href=//fonts.invalid/f.css>"
        "<img src='http://img.invalid/i.png'>"
        '<link rel="icon" href="data:image/svg+xml,%3Csvg%3E">'
        '<a href="https://allure.invalid/">a link is not a load</a>'
        "<script>var inline = 1;</script>"
    )
    assert remote_loads(page) == [
        "//fonts.invalid/f.css",
        "http://img.invalid/i.png",
        "https://tag.invalid/gtag.js",
    ]


def test_a_relative_out_directory_renders_where_the_run_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mc-verify run` defaults to `--out dist`, relative to where it was started."""
    run_directory(tmp_path)
    allure = fake_allure(tmp_path / "tools", CLEAN_ALLURE)
    monkeypatch.chdir(tmp_path)
    out = Path("out")
    report = generate_html_report(
        out / "allure-results", report_file(out, RELEASE), name="the run", allure=allure
    )
    assert report.path == (tmp_path / "out" / f"allure-report-{RELEASE}.html").resolve()
    assert report.path.read_text() == "<html>the run</html>"
