"""The HTML report in a real headless browser (Debian's chromium): charts drawn, table filtered and sorted."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from hfscan.cache.store import Store
from hfscan.reports.charts import COLORS
from hfscan.reports.report import build_report, render
from tests.reports.html_dom import parse
from tests.reports.report_store import build_history_store

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium when run as root)")
    tmp = tmp_path_factory.mktemp("browser")
    path, _ = build_history_store(tmp / "store.sqlite")
    with Store(path) as store:
        report = build_report(store, since=timedelta(days=7))
    html = tmp / "report.html"
    html.write_text(render(report, "html"))
    return html, report, tmp


def chromium(tmp: Path, *args: str) -> str:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def visible_rows(dom) -> list[str]:
    table = dom.find("table", id="models")
    return [tr.attrs["data-model-type"] for tr in table.find_all("tr", pred=lambda n: "data-model-type" in n.attrs and "hidden" not in n.attrs)]


def test_filter_from_the_url_fragment_and_sort(page):
    html, report, tmp = page
    everything = [r.model_type for r in report.coverage.rows]
    dom = parse(chromium(tmp, "--dump-dom", f"{html.as_uri()}#filter=encoder%20valueerror&sort=duration_s:desc"))
    assert dom.find("body").attrs.get("data-ready") == "1"  # the page's script ran to the end
    assert sorted(visible_rows(dom)) == ["alpha", "epsilon"]
    assert dom.find("b", id="shown").text == "2" and dom.find("input", id="filter") is not None
    order = [tr.attrs["data-model-type"] for tr in dom.find("table", id="models").find_all("tr", pred=lambda n: "data-model-type" in n.attrs)]
    durations = {r.model_type: r.duration_s for r in report.coverage.rows}
    assert [durations[m] for m in order] == sorted(durations.values(), reverse=True) and sorted(order) == sorted(everything)

    dom = parse(chromium(tmp, "--dump-dom", f"{html.as_uri()}#coverage=expected%20failure"))
    assert visible_rows(dom) == ["delta"]
    dom = parse(chromium(tmp, "--dump-dom", html.as_uri()))
    assert sorted(visible_rows(dom)) == sorted(everything)  # no fragment, no filter


def test_charts_are_drawn(page):
    html, report, tmp = page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    chromium(tmp, "--window-size=1280,2400", f"--screenshot={shot}", html.as_uri())
    pixels = Counter(Image.open(shot).convert("RGB").getdata())

    def count(hex_color: str) -> int:
        return pixels[tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))]

    # The trend line's colour is used nowhere else; the family bars are solid, 18 px high and as long as
    # their family is large (560 px for the largest), far more coloured pixels than the legend and pills.
    assert count("#1565c0") > 300
    sizes = [sum(c.values()) for c in report.coverage.by("family").values()]
    bar_pixels = sum(count(COLORS[c]) for c in COLORS)
    assert bar_pixels > 0.9 * sum(560 * 18 * n / max(sizes) for n in sizes), bar_pixels
    dom = parse(chromium(tmp, "--dump-dom", html.as_uri()))
    rects = dom.find("svg", id="family-chart").find_all("rect")
    assert sum(int(r.attrs["data-count"]) for r in rects) == len(report.coverage.rows)
    assert len(dom.find("svg", id="trend-chart").find_all("circle")) == len(report.trend)
