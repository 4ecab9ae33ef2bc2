"""The web console in a real browser (Debian's chromium and chromium-driver, through selenium) on the
`logsynergy up` of test_platform_e2e.py (the shared `local_platform`: no second platform start). A tenant of
its own is onboarded through the API, signs in with its key, watches its training job finish in the jobs
view, opens an anomaly the endpoint flagged and judges it with the buttons (each judgement checked through
REST). Every page visited is saved as a screenshot (1280×800; the anomaly page at 390×844 too) under
test-output/console/ and checked for basic accessibility: accessible names, labels, one main landmark, no
horizontal overflow at phone width, no JavaScript console error."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.local_platform import ADMIN_KEY, Platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
OUT = Path(__file__).resolve().parents[2] / "test-output" / "console"
DESKTOP, PHONE = (1280, 800), (390, 844)
TENANT = "console-e2e"
WAIT_S = 60.0  # a page, a button's effect, a published route: bounded waits
JOB_S = 600.0
BGL_LOG = "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log"

# Problems a screen-reader or keyboard user, or a phone, would hit on the page shown (none: []).
AUDIT = """
const problems = [];
const text = (el) => (el.textContent || "").replace(/\\s+/g, " ").trim();
const named = (el) => (el.getAttribute("aria-label") || "").trim() || text(el)
  || (el.getAttribute("title") || "").trim()
  || [...el.querySelectorAll("img[alt]")].map((i) => i.alt).join("").trim()
  || (el.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id))
       .filter(Boolean).map(text).join(" ").trim();
for (const el of document.querySelectorAll("button, a[href], [role=button], summary")) {
  if (!named(el)) problems.push(`no accessible name: ${el.outerHTML.slice(0, 120)}`);
}
for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
  const labelled = (el.labels && [...el.labels].some(text)) || (el.getAttribute("aria-label") || "").trim()
    || el.getAttribute("aria-labelledby");
  if (!labelled) problems.push(`no label: ${el.outerHTML.slice(0, 120)}`);
}
if (document.querySelectorAll("main").length !== 1) problems.push("not one main landmark");
if (document.querySelectorAll("main h1").length !== 1) problems.push("not one h1 in main");
if (!document.documentElement.lang) problems.push("no lang on <html>");
for (const img of document.querySelectorAll("img:not([alt])")) problems.push(`image without alt: ${img.src}`);
const ids = [...document.querySelectorAll("[id]")].map((el) => el.id);
for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`duplicate id ${id}`);
const shown = document.querySelector("main").cloneNode(true);  // the page's own words, not the logs'
for (const el of shown.querySelectorAll("pre.lines, textarea, .tpl, ul.templates, .interp")) el.remove();
const broken = shown.textContent.match(/\\[object \\w+\\]|\\bundefined\\b|\\bNaN\\b|Invalid Date/);
if (broken) problems.push(`rendered a missing or wrong value: ${broken[0]}`);
const root = document.documentElement;
if (root.scrollWidth > root.clientWidth) {
  problems.push(`horizontal overflow: ${root.scrollWidth} > ${root.clientWidth} px`);
}
return problems;
"""

# The jobs view's row of one job, read in one go (the view re-renders itself while the job runs).
JOB_ROW = """
const row = [...document.querySelectorAll("main tbody tr")]
  .find((tr) => tr.cells[0] && tr.cells[0].textContent.trim() === arguments[0]);
if (!row) return null;
const cell = (i) => row.cells[i].textContent.replace(/\\s+/g, " ").trim();
const link = row.querySelector("a[target=_blank]");
return {status: cell(2), progress: cell(3), bar: !!row.querySelector("progress"), version: cell(4),
        f1: cell(5), dashboard: link ? link.href : null, marker: window.__notReloaded === true,
        focused: document.activeElement && document.activeElement.id};
"""


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless chromium driven through chromium-driver (no driver download: both from Debian)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--lang=en-US",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The console in the browser: navigation, waits, screenshots, accessibility audits."""

    def __init__(self, driver: Any, base: str) -> None:
        self.driver, self.base = driver, base
        self.shots: list[Path] = []
        self.problems: dict[str, list[str]] = {}
        self.errors: list[dict[str, Any]] = []
        self.viewport(*DESKTOP)

    def viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def until(self, what: str, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s ({self.heading()!r})"
            time.sleep(0.1)
        return value

    def heading(self) -> str:
        return self.js("const h = document.querySelector('main h1'); return h ? h.textContent : '';")

    def status(self) -> str:
        return self.js("return document.getElementById('status').textContent;")

    def page(self, title: str) -> None:
        """Wait until the page titled `title` is shown."""
        self.until(f"page {title!r}", lambda: self.heading() == title)

    def click(self, selector: str, text: str) -> None:
        """Click the element matching `selector` whose text is `text` (as a user does)."""
        from selenium.webdriver.common.by import By

        found = [e for e in self.driver.find_elements(By.CSS_SELECTOR, selector) if e.text.strip() == text]
        assert found, f"no {selector} {text!r} on {self.heading()!r}"
        found[0].click()

    def follow(self, href: str) -> None:
        """Click the link to `href` in the page."""
        self.driver.find_element("css selector", f"main a[href='{href}']").click()

    def go(self, route: str, title: str) -> None:
        self.js("location.hash = arguments[0];", route)
        self.page(title)

    def check(self, name: str) -> None:
        """Audit the page shown and keep the browser's console errors."""
        self.problems[name] = self.js(AUDIT)
        self.errors += [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def shot(self, name: str) -> Path:
        self.check(name)
        path = OUT / f"{len(self.shots) + 1:02d}-{name}.png"
        assert self.driver.save_screenshot(str(path)), path
        self.shots.append(path)
        return path


def onboard(platform: Platform, datasets: Path) -> httpx.Client:
    """A tenant of its own (so that nothing of test_platform_e2e.py's tenant shows), a source and a target
    with their data and interpretations, through the API; its client."""
    admin = httpx.Client(base_url=platform.api, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=300)
    created = admin.post("/v1/tenants", json={"name": TENANT})
    assert created.status_code == 201, created.text
    api = httpx.Client(
        base_url=platform.api, headers={"Authorization": f"Bearer {created.json()['api_key']}"}, timeout=300
    )
    labels = next((datasets / "openstack/nova_fault_injection").glob("instance_labels*.csv"))
    systems = {
        "openstack": ("source", "openstack/nova_fault_injection/openstack-nova-sample.log", labels),
        "bgl": ("target", BGL_LOG, None),
    }
    for name, (role, log, label_file) in systems.items():
        body = {"name": name, "format": name, "role": role, "description": f"{name} (console e2e)"}
        assert (response := api.post("/v1/systems", json=body)).status_code == 201, response.text
        files = {"file": (Path(log).name, (datasets / log).read_bytes())}
        if label_file is not None:
            files["labels"] = ("labels.csv", label_file.read_bytes())
        assert (response := api.post(f"/v1/systems/{name}/datasets", files=files)).status_code == 201
        interpretations = (datasets.parent / "interpretations" / f"{name}.jsonl").read_bytes()
        response = api.post(f"/v1/systems/{name}/interpretations/import", content=interpretations)
        assert response.status_code == 200, response.text
    return api


def flagged_windows(platform: Platform, api: httpx.Client, lines: list[str]) -> int:
    """Send BGL lines to the endpoint once its route serves version 1; wait until the flagged windows are
    in the history. How many were flagged."""
    detect = httpx.Client(base_url=platform.detect, headers=api.headers, timeout=300)
    deadline = time.monotonic() + WAIT_S
    while (answer := detect.post("/v1/detect/bgl", json={"lines": lines})).status_code != 200:
        assert answer.status_code == 409 and time.monotonic() < deadline, answer.text  # not published yet
        time.sleep(0.5)
    flagged = len(answer.json()["anomalies"])
    assert answer.json()["model_version"] == "1" and flagged, answer.json()["windows"][:3]
    deadline = time.monotonic() + WAIT_S
    while len(api.get("/v1/systems/bgl/anomalies", params={"limit": 1000}).json()) < flagged:
        assert time.monotonic() < deadline, "the flagged windows did not reach the history"
        time.sleep(0.5)
    return flagged


def test_console_onboard_watch_a_job_judge_an_anomaly(
    local_platform: Platform, shared_datasets: Path, browser: Any
) -> None:
    from selenium.webdriver.common.keys import Keys

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    api = onboard(local_platform, shared_datasets)
    key = api.headers["Authorization"].removeprefix("Bearer ")
    console = Console(browser, local_platform.api)

    # sign in: a wrong key is refused, the tenant's key (typed, Enter) lets in
    browser.get(f"{local_platform.api}/console")
    console.page("Sign in")
    console.shot("signin")
    field = browser.find_element("id", "api-key")
    field.send_keys("lsk_not-a-key-at-all", Keys.ENTER)
    console.until("refusal", lambda: console.status() == "That API key was refused.")
    refused = browser.get_log("browser")  # the 401 of that try: the one error expected
    assert all(e["level"] != "SEVERE" or "401" in e["message"] for e in refused), refused
    field.clear()
    field.send_keys(key, Keys.ENTER)
    console.page("Systems")
    rows = console.js(
        "return [...document.querySelectorAll('main tbody tr')].map((r) => r.cells[0].textContent);"
    )
    assert sorted(rows) == ["bgl", "openstack"]
    console.shot("systems")

    # a training job, watched live in the jobs view (it re-renders itself; the page is never reloaded)
    job = api.post("/v1/jobs", json={"target": "bgl", "sources": ["openstack"], "options": {"epochs": 1}})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    console.click("nav a", "Jobs")
    console.page("Jobs")
    console.js("window.__notReloaded = true; document.getElementById('sign-out').focus();")
    seen: list[dict[str, Any]] = []
    running_shot: Path | None = None
    deadline = time.monotonic() + JOB_S
    while True:
        row = console.js(JOB_ROW, job_id)
        if row and (not seen or row != seen[-1]):
            seen.append(row)
            if row["status"] == "running" and row["bar"] and not running_shot:
                running_shot = console.shot("jobs-running")  # with its progress bar
        if row and row["status"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, seen
        time.sleep(0.25)
    final = api.get(f"/v1/jobs/{job_id}").json()
    assert row["status"] == "succeeded", final["error"]
    console.shot("jobs-done")
    statuses = [s["status"] for s in seen]
    print(f"\njobs view: {[(s['status'], s['progress']) for s in seen]}")
    assert "running" in statuses and statuses.index("running") < statuses.index("succeeded")
    assert running_shot, f"no progress bar while the job ran: {seen}"  # live progress shown
    assert len({(s["status"], s["progress"]) for s in seen}) >= 3
    assert row["marker"], "the jobs view was reloaded instead of updating itself"
    assert row["focused"] == "sign-out", "a refresh of the jobs view moved the keyboard focus"
    assert (row["version"], row["f1"]) == ("1", f"{final['metrics']['f1']:.3f}")
    assert row["dashboard"] and final["ray_submission_id"] in row["dashboard"]

    # anomalies: the endpoint flags BGL's lines; open the newest, judge it with the buttons
    lines = (shared_datasets / BGL_LOG).read_text(errors="replace").splitlines()[-600:]
    flagged = flagged_windows(local_platform, api, lines)
    console.click("nav a", "Systems")
    console.page("Systems")
    console.click("main a", "bgl")
    console.page("System bgl")
    console.shot("system")
    console.click("main a", "Anomalies")
    console.page("Anomalies of bgl")
    listed = console.js("return document.querySelectorAll('main tbody tr').length;")
    assert listed == min(flagged, 100)  # the API's default page
    console.shot("anomalies")
    newest = api.get("/v1/systems/bgl/anomalies", params={"limit": 1}).json()[0]
    console.follow(f"#/systems/bgl/anomalies/{newest['id']}")
    title = f"Anomaly #{newest['id']} of bgl"
    console.page(title)
    path = f"/v1/systems/bgl/anomalies/{newest['id']}"
    report = api.get(path).json()
    shown = console.js("return [...document.querySelectorAll('main pre.lines')].map((p) => p.textContent);")
    assert shown == [e["raw"] for e in report["events"]]
    facts = console.js("return document.querySelector('main dl').textContent;")
    assert f"{report['score']:.3f}" in facts and f"{report['first_line']}–{report['last_line']}" in facts

    note = browser.find_element("css selector", "main input[aria-label='Note (optional)']")
    note.send_keys("disk fault, confirmed by on-call")
    console.click("main button", "Confirm anomaly")
    console.until("the verdict", lambda: console.status() == "Judged anomaly.")
    judged = api.get(path).json()
    assert (judged["verdict"], judged["status"], judged["note"]) == (
        "anomaly",
        "anomaly",
        "disk fault, confirmed by on-call",
    )
    console.until(
        "the verdict shown",
        lambda: "confirmed by on-call" in console.js("return document.querySelector('main dl').textContent;"),
    )
    console.shot("anomaly")
    console.viewport(*PHONE)
    console.shot("anomaly-phone")
    console.viewport(*DESKTOP)
    console.click("main button", "Withdraw judgement")
    console.until("withdrawn", lambda: console.status() == "Judgement withdrawn.")
    assert (api.get(path).json()["verdict"], api.get(path).json()["status"]) == (None, "open")

    incident = report["incident_id"]
    console.follow(f"#/systems/bgl/incidents/{incident}")
    console.page(f"Incident #{incident} of bgl")
    console.click("main button", "Not an anomaly")
    console.until("the incident's verdict", lambda: console.status() == "Judged not anomaly.")
    judged_incident = api.get(f"/v1/systems/bgl/incidents/{incident}").json()
    assert (judged_incident["verdict"], judged_incident["status"]) == ("not_anomaly", "not_anomaly")
    assert api.get(path).json()["status"] == "not_anomaly"  # its windows take the incident's verdict
    console.shot("incident")

    console.go("#/systems/bgl/incidents", "Incidents of bgl")
    badges = console.js(
        "return [...document.querySelectorAll('main tbody .badge')].map((b) => b.textContent);"
    )
    assert "not_anomaly" in badges
    console.shot("incidents")
    console.go("#/systems/bgl/interpretations", "Interpretations of bgl")
    console.shot("interpretations")
    console.click("nav a", "Benchmark")
    console.page("Benchmark")
    console.shot("bench")

    # every page again at phone width: the same checks (no screenshot but the anomaly's above)
    console.viewport(*PHONE)
    for route, title in (
        ("#/systems", "Systems"),
        ("#/jobs", "Jobs"),
        ("#/systems/bgl", "System bgl"),
        ("#/systems/bgl/anomalies", "Anomalies of bgl"),
        (f"#/systems/bgl/incidents/{incident}", f"Incident #{incident} of bgl"),
        ("#/systems/bgl/interpretations", "Interpretations of bgl"),
        ("#/bench", "Benchmark"),
    ):
        console.go(route, title)
        console.check(f"phone {title}")
    console.check("end")
    print(f"console screenshots ({len(console.shots)}): {OUT}")
    assert not {page: found for page, found in console.problems.items() if found}
    assert not console.errors, console.errors
