"""Production shape, for real: a `prefect server`, a process work pool, deployments from prefect.yaml,
a worker, runs started through the API the UI's Run button calls and through the UI itself in
headless Chromium, the cron schedule, the write limit.

The REST calls that list things are made with explicit paging and sort fields: Prefect 3.8's client
sends them as null, which the server refuses under the pinned fastapi (see flows/deploy.py).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, SEEDS
from tests.support import synth

pytestmark = pytest.mark.slow

POOL = "storyflow"
RUN_TIMEOUT_S = 600  # a flow run here: a fresh process, Prefect and the model to load, on a shared 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Processes this test started, each in its own process group, stopped by id."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        log.close()
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):  # worker (and its flow runs) before the server
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left in its group
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)


@dataclass
class Stack:
    api: httpx.Client
    api_url: str
    checkout: Path
    tmp: Path
    logs: Path
    env: dict[str, str]

    def request(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        """One API call, retried while the server answers 503. The SQLite-backed server answers
        503 when its database is busy (a write transaction it could not get in time) and means
        "try again"; Prefect's own client retries these, with backoff, and so do we. A read
        that times out is retried too, as Prefect's client does: with two flow runs, a worker
        and a slot holder writing at once, the server once left a read unanswered for 60 s
        while its database was locked. Writes are not retried on a timeout (one may have landed)."""
        reading = method == "GET" or path.endswith("/filter")
        for attempt in range(6):
            try:
                response = self.api.request(method, path, json=body)
            except httpx.TransportError:
                if not reading or attempt == 5:
                    raise
                time.sleep(0.5 * 2 ** attempt)
                continue
            if response.status_code != 503:
                break
            time.sleep(0.5 * 2 ** attempt)
        return response

    def post(self, path: str, body: dict) -> list | dict:
        response = self.request("POST", path, body)
        assert response.status_code < 300, response.text
        return response.json()

    def deployment(self, name: str) -> dict:
        response = self.request("GET", f"/deployments/name/{name}")
        assert response.status_code == 200, response.text
        return response.json()

    def run_deployment(self, name: str, parameters: dict) -> str:
        """What the UI's Run button (and the client's create_flow_run_from_deployment) calls."""
        run = self.post(f"/deployments/{self.deployment(name)['id']}/create_flow_run", {"parameters": parameters})
        return run["id"]

    def hand_runs(self, deployment_id: str) -> list[dict]:
        """Flow runs of a deployment started by hand (not by its schedule)."""
        runs = self.post("/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200, "offset": 0})
        return [r for r in runs if not r["auto_scheduled"]]

    def new_hand_run(self, deployment_id: str, before: list[dict], timeout: float = 60) -> dict:
        """The one run of the deployment started by hand since `before` was listed."""
        known = {r["id"] for r in before}
        deadline = time.monotonic() + timeout
        while not (new := [r for r in self.hand_runs(deployment_id) if r["id"] not in known]):
            assert time.monotonic() < deadline, "no flow run was started"
            time.sleep(1)
        (run,) = new
        return run

    def flow_run(self, run_id: str) -> dict:
        return self.request("GET", f"/flow_runs/{run_id}").json()

    def wait_state(self, run_id: str, wanted: set[str], timeout: float = RUN_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.flow_run(run_id)
            if run["state_type"] in wanted:
                return run
            assert run["state_type"] not in {"FAILED", "CRASHED", "CANCELLED"}, (run["state"], self.log_text(run_id))
            assert time.monotonic() < deadline, f"run {run_id} still {run['state_type']}; worker log:\n{self.worker_log()}"
            time.sleep(2)

    def logs_of(self, run_id: str) -> list[dict]:
        return self.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "offset": 0, "sort": "TIMESTAMP_ASC"})

    def log_text(self, run_id: str) -> str:
        return "\n".join(entry["message"] for entry in self.logs_of(run_id))

    def artifacts_of(self, run_id: str) -> dict[str, dict]:
        found = self.post("/artifacts/filter", {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 50, "offset": 0, "sort": "CREATED_DESC"})
        return {a["type"]: a for a in found}

    def worker_log(self) -> str:
        return (self.logs / "worker.log").read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefect-prod")
    logs = tmp / "logs"
    logs.mkdir()
    # deploy from a copy of the code, so runs the schedule fires on their own write inside tmp
    checkout = tmp / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".venv", ".git", "data", "tests", "__pycache__", "bench", "*.egg-info"))
    (checkout / "inbox").mkdir()

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp / "prefect-home"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_SERVER_LOG_RETRYABLE_ERRORS="true",  # a busy database's 503s show in server.log
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    prefect = [sys.executable, "-m", "prefect"]
    processes = Processes(logs)
    try:
        processes.start("server", [*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp)
        api = httpx.Client(base_url=api_url, timeout=60)
        deadline = time.monotonic() + 180
        while True:
            try:
                if api.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (logs / "server.log").read_text()[-3000:]
            time.sleep(1)

        # the README's steps, in its order
        for step in ([*prefect, "work-pool", "create", POOL, "--type", "process"], [sys.executable, "-m", "flows.deploy"]):
            done = subprocess.run(step, env=env, cwd=checkout, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        processes.start("worker", [*prefect, "worker", "start", "--pool", POOL], env=env, cwd=checkout)
        yield Stack(api, api_url, checkout, tmp, logs, env)
    finally:
        processes.stop_all()


def read(data: Path, name: str) -> list[dict]:
    return pq.read_table(data / "current" / f"{name}.parquet").to_pylist()


@pytest.fixture(scope="module")
def seeded(stack):
    """The ingest deployment run once over the seeds, with a typed per-run override."""
    data = stack.tmp / "data"
    run_id = stack.run_deployment(
        "storyflow-ingest/ingest",
        {"inputs": str(SEEDS), "data_dir": str(data), "overrides": {"dedup__jaccard": 0.6}},
    )
    stack.wait_state(run_id, {"COMPLETED"})
    return data, run_id


def test_run_from_the_ui_api_writes_parquet_and_artifacts(stack, seeded):
    data, run_id = seeded
    assert len(read(data, "articles")) == 5
    assert sorted(e["size"] for e in read(data, "events")) == [1, 1, 3]
    (run,) = read(data, "runs")
    assert json.loads(run["parameters"])["dedup"]["jaccard"] == 0.6  # the override reached the pipeline
    # the runs table links the run to its page in the UI
    assert run["kind"] == "ingest" and run["flow_run_id"] == run_id
    assert run["flow_run_url"] == f"{stack.api_url.removesuffix('/api')}/runs/flow-run/{run_id}"
    assert stack.request("GET", f"/flow_runs/{run_id}").status_code == 200

    artifacts = stack.artifacts_of(run_id)
    assert set(artifacts) == {"markdown", "table", "progress"}
    summary = artifacts["markdown"]["data"]
    assert "| stories in | 5 (5 new, 0 already stored) |" in summary
    assert "| events created | 3 |" in summary and "| rejects | 0 |" in summary
    touched = json.loads(artifacts["table"]["data"])
    assert sorted(r["size"] for r in touched) == [1, 1, 3] and {r["change"] for r in touched} == {"created"}
    assert {r["event_id"] for r in touched} == {e["event_id"] for e in read(data, "events")}
    assert float(artifacts["progress"]["data"]) == 100.0


def test_schedule_is_real(stack):
    deployment = stack.deployment("storyflow-ingest/ingest")
    (schedule,) = deployment["schedules"]
    assert schedule["active"] and schedule["schedule"]["cron"] == "*/15 * * * *"
    deadline = time.monotonic() + 180  # the scheduler service fills in runs on its own loop
    while True:
        scheduled = stack.post("/flow_runs/filter", {
            "deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 10, "offset": 0,
        })
        if len(scheduled) >= 3:
            break
        assert time.monotonic() < deadline, f"only {len(scheduled)} scheduled runs"
        time.sleep(3)
    starts = [datetime.fromisoformat(r["expected_start_time"]) for r in scheduled]
    assert all(t.minute % 15 == 0 and t.second == 0 for t in starts)
    assert {b - a for a, b in zip(starts, starts[1:])} == {timedelta(minutes=15)}
    assert scheduled[0]["parameters"] == {"inputs": "inbox", "data_dir": "data"}


def click_text(driver, text: str, timeout: float = 90) -> None:
    """Click the displayed element whose whole text is `text`, once the UI has rendered it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    innermost = f"//*[normalize-space(.)='{text}' and not(*[normalize-space(.)='{text}'])]"

    def found(d):
        return next((e for e in d.find_elements(By.XPATH, innermost) if e.is_displayed()), False)

    WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)).until(
        found, f"no {text!r} on the page").click()


@contextmanager
def deployment_page(stack: Stack, deployment: dict, name: str, window: str = "1400,1600"):
    """The deployment's page in the real Prefect UI, in headless Chromium; a screenshot of a
    failure is left in the test's logs as `name`.png."""
    from tests.support.browser import headless_chromium

    with headless_chromium(stack.tmp / f"profile-{name}", window) as driver:
        driver.get(f"{stack.api_url.removesuffix('/api')}/deployments/deployment/{deployment['id']}")
        try:
            yield driver
        except Exception:
            save_page_state(driver, stack, name)
            raise


def type_over(field, text: str) -> bool:
    """Replace a form field's text with `text`; whether the field now holds exactly that."""
    from selenium.webdriver.common.keys import Keys

    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)
    return field.get_attribute("value") == text


def type_date(field, day: str) -> bool:
    """Type an ISO `day` into a date picker, segment by segment from its first; whether it holds it."""
    from selenium.webdriver.common.keys import Keys

    year, month, date = day.split("-")
    field.click()
    field.send_keys(Keys.HOME)  # the month segment, wherever the click landed
    field.send_keys(month, date, year)
    return field.get_attribute("value") == day


def save_page_state(driver, stack: Stack, name: str) -> str:
    """A screenshot and the browser console of the page, as `name`.png and `name`.console.txt
    in the logs; returns the console."""
    driver.save_screenshot(str(stack.logs / f"{name}.png"))
    console = "\n".join(f"{e.get('level')} {e.get('message')}" for e in driver.get_log("browser"))
    (stack.logs / f"{name}.console.txt").write_text(console)
    return console


def run_started_in_the_ui(driver, stack: Stack, deployment_id: str, before: list[dict], start, name: str) -> dict:
    """The run that `start()` (clicks in the UI) made, with a second try after a busy server.

    Now and then (about one full test run in ten here, more under load) the SQLite-backed
    server answers the UI's create_flow_run with 503, its "database busy, try again"; the UI
    does not retry, shows "Oops. Something went wrong." and starts nothing. A user would click again, and so does the
    test, once, and only after that 503 (in the browser console; the page is kept in the logs).
    """
    start()
    try:
        return stack.new_hand_run(deployment_id, before, timeout=45)
    except AssertionError:
        console = save_page_state(driver, stack, f"{name}-first-try")
        assert "create_flow_run" in console and "503" in console, f"no run started, and no busy server:\n{console}"
        start()
        return stack.new_hand_run(deployment_id, before)


def test_quick_run_from_the_prefect_ui_in_a_browser(stack):
    """The engineer's path, in the real Prefect UI: the deployment's page, Run -> Quick run;
    the worker then runs it with the deployment's parameters."""
    deployment = stack.deployment("storyflow-ingest/ingest")
    before = stack.hand_runs(deployment["id"])
    with deployment_page(stack, deployment, "ui-quick-run") as driver:
        run = run_started_in_the_ui(driver, stack, deployment["id"], before,
                                    lambda: (click_text(driver, "Run"), click_text(driver, "Quick run")), "ui-quick-run")
    assert run["parameters"] == {"inputs": "inbox", "data_dir": "data"}
    stack.wait_state(run["id"], {"COMPLETED"})


def test_custom_run_form_in_the_prefect_ui_backfills_a_date_range(stack):
    """The README's backfill path, in the real UI: Run -> Custom run, the typed form filled in
    (source, the date pickers, data_dir, one field of the overrides), Submit."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    data = stack.tmp / "ui-backfill"
    deployment = stack.deployment("storyflow-backfill/backfill")
    before = stack.hand_runs(deployment["id"])
    with deployment_page(stack, deployment, "ui-custom-run", window="1400,3000") as driver:
        click_text(driver, "Run")
        click_text(driver, "Custom run")
        # the form, drawn once the deployment's schema is in: source and data_dir first (the settings have text boxes too)
        WebDriverWait(driver, 90).until(lambda d: len(d.find_elements(By.TAG_NAME, "textarea")) >= 2, "no form")
        source, data_dir = driver.find_elements(By.TAG_NAME, "textarea")[:2]
        source.send_keys(str(SEEDS))
        # select-all and type over the default: clear() alone raced the form, which now and
        # then put "data" back in front of the typed path
        WebDriverWait(driver, 30).until(lambda d: type_over(data_dir, str(data)), "data_dir not replaced")
        start, end = driver.find_elements(By.CSS_SELECTOR, "input[type=date]")
        WebDriverWait(driver, 30).until(lambda d: type_date(start, "2017-04-01"), "start date not taken")
        WebDriverWait(driver, 30).until(lambda d: type_date(end, "2017-04-30"), "end date not taken")
        # the settings shown at once, each a plain number box under its title: no "or None" switch to flip first
        field = "//*[normalize-space(.)='Copies: shared wording (Optional)']/following::input[1]"
        WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: d.find_elements(By.XPATH, field), "no number box for Copies: shared wording")
        driver.find_element(By.XPATH, field).send_keys("0.6")
        run = run_started_in_the_ui(driver, stack, deployment["id"], before,
                                    lambda: click_text(driver, "Submit"), "ui-custom-run")
    assert run["parameters"]["start"] == "2017-04-01" and run["parameters"]["end"] == "2017-04-30"
    assert run["parameters"]["source"] == str(SEEDS) and run["parameters"]["data_dir"] == str(data)
    assert "overrides" in run["parameters"] and None not in run["parameters"].values()  # empty boxes left out
    stack.wait_state(run["id"], {"COMPLETED"})
    assert sorted(a["source_id"][:3] for a in read(data, "articles")) == ["000", "001", "002"]  # April only
    assert [e["size"] for e in read(data, "events")] == [3]
    assert json.loads(read(data, "runs")[0]["parameters"])["dedup"]["jaccard"] == 0.6
    assert read(data, "runs")[0]["kind"] == "backfill"


def test_every_parameter_of_every_deployment_has_a_type_and_words_for_it(stack):
    """The form as the UI draws it: a Type for each parameter (the Parameters tab's column), a description,
    no null default (the UI would send it for an empty box, and the schema refuses null), date pickers."""
    for name in ("storyflow-ingest/ingest", "storyflow-backfill/backfill", "storyflow-recluster/recluster"):
        deployment = stack.deployment(name)
        assert len(deployment["description"]) > 80
        schema = deployment["parameter_openapi_schema"]
        for key, prop in schema["properties"].items():
            assert prop.get("type") and len(prop.get("description", "")) > 20, (name, key, prop)
            assert "anyOf" not in prop and prop.get("default", "") is not None, (name, key, prop)
        settings = schema["definitions"]["RunSettings"]["properties"]
        assert all(p.get("type") and "Default:" in p["description"] for p in settings.values())
        assert "Jaccard" not in json.dumps(settings) and "char 9-gram" not in json.dumps(settings)  # no jargon
    recluster = stack.deployment("storyflow-recluster/recluster")["parameter_openapi_schema"]["properties"]
    assert recluster["start"]["format"] == recluster["end"]["format"] == "date-time"
    ingest = stack.deployment("storyflow-ingest/ingest")["parameter_openapi_schema"]["properties"]
    assert ingest["feeds"]["type"] == "array" and "published_from" not in ingest  # dates: the backfill's
    backfill = stack.deployment("storyflow-backfill/backfill")["parameter_openapi_schema"]["properties"]
    assert backfill["start"]["format"] == backfill["end"]["format"] == "date"


def test_a_recluster_started_in_the_ui_with_the_date_pickers_sends_times(stack):
    """Run -> Custom run on the recluster deployment: a day typed into the start picker goes out as a time; the
    other boxes, left empty, are left out (the run is only created, not waited for)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    deployment = stack.deployment("storyflow-recluster/recluster")
    before = stack.hand_runs(deployment["id"])
    with deployment_page(stack, deployment, "ui-recluster-run", window="1400,3000") as driver:
        click_text(driver, "Run")
        click_text(driver, "Custom run")
        WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "input[type=date]")) == 2)
        start = driver.find_elements(By.CSS_SELECTOR, "input[type=date]")[0]
        WebDriverWait(driver, 30).until(lambda d: type_date(start, "2099-04-01"), "start not taken")
        run = run_started_in_the_ui(driver, stack, deployment["id"], before,
                                    lambda: click_text(driver, "Submit"), "ui-recluster-run")
    assert datetime.fromisoformat(run["parameters"]["start"]) == datetime.fromisoformat("2099-04-01T00:00:00+00:00")
    assert {"start", "data_dir"} <= set(run["parameters"]) <= {"start", "data_dir", "overrides", "dask_address"}  # no end
    # nothing is published after 2099: the run changes nothing, whatever store it finds (none, or the schedule's)
    stack.wait_state(run["id"], {"COMPLETED"})


def test_nightly_recluster_is_deployed_with_its_schedule_off(stack):
    deployment = stack.deployment("storyflow-recluster/recluster-recent")
    (schedule,) = deployment["schedules"]
    assert not schedule["active"] and schedule["schedule"]["cron"] == "30 2 * * *"
    assert "schedule is off until you turn it on" in deployment["description"]
    assert deployment["parameters"] == {"data_dir": "data", "last_days": 3}
    assert stack.post("/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}},
                                            "limit": 10, "offset": 0}) == []


def test_recluster_from_the_ui_api_maps_new_clusters_onto_old_ids(stack, seeded):
    """The recluster deployment, run by hand with a much stricter distance, rebuilds the seeds' events."""
    data = stack.tmp / "recluster-data"
    shutil.copytree(seeded[0], data, symlinks=True)  # the other tests keep the seeded store as it was
    before = {a["article_id"]: a["event_id"] for a in read(data, "articles")}
    run_id = stack.run_deployment("storyflow-recluster/recluster",
                                  {"data_dir": str(data), "overrides": {"events__distance": 0.05}})
    stack.wait_state(run_id, {"COMPLETED"})

    after = {a["article_id"]: a["event_id"] for a in read(data, "articles")}
    assert len(set(after.values())) == 5  # nothing is that close: every story is its own event now
    old_shared = next(e for e in before.values() if list(before.values()).count(e) == 3)
    assert list(after.values()).count(old_shared) == 1  # the split event keeps its id on one part
    assert sum(before[a] != after[a] for a in before) == 2
    events = {e["event_id"]: e for e in read(data, "events")}
    assert set(after.values()) <= set(events) and all(events[e]["size"] == 1 for e in after.values())
    runs = read(data, "runs")
    assert len(runs) == 2 and runs[-1]["inputs"].startswith("recluster")
    assert json.loads(runs[-1]["parameters"])["events"]["distance"] == 0.05
    summary = stack.artifacts_of(run_id)["markdown"]["data"]
    assert "| stories moved to another event | 2 |" in summary and "| events split | 1 |" in summary
    assert "```" not in summary
    tables = stack.post("/artifacts/filter", {"flow_runs": {"id": {"any_": [run_id]}}, "artifacts": {"type": {"any_": ["table"]}},
                                              "limit": 10, "offset": 0, "sort": "CREATED_DESC"})
    by_key = {a["key"]: json.loads(a["data"]) for a in tables}
    assert [r["change"] for r in by_key["storyflow-recluster-events"]].count("split") == 1
    moves = by_key["storyflow-recluster-moves"]
    assert len(moves) == 2 and {m["from_event"] for m in moves} == {old_shared}
    assert {m["to_event"] for m in moves} <= set(after.values()) - {old_shared}
    assert runs[-1]["kind"] == "recluster" and runs[-1]["n_events_split"] == 1 and runs[-1]["n_stories_moved"] == 2


def copies_of_seeds(rng: random.Random) -> dict[str, dict]:
    """Damaged copies of seeds under new ids, each with its seed's date."""
    manifest = {json.loads(line)["id"][:3]: json.loads(line) for line in (SEEDS / "manifest.jsonl").read_text().splitlines()}
    text = {p.stem[:3]: p.read_text() for p in SEEDS.glob("*.txt")}
    return {
        seed: {"id": f"copy-of-{seed}", "body": damage(text[seed], rng), "source": "Wire", "published_at": manifest[seed]["published_at"]}
        for seed, damage in {
            "001": lambda t, r: synth.trim(t, r, 0.3),
            "003": lambda t, r: synth.rewrap(t, r, 0.3),
            "002": lambda t, r: synth.rewrap(t, r, 0.3),
            "004": lambda t, r: synth.rewrap(t, r, 0.3),
        }.items()
    }


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def slot_spans(stack: Stack, run_id: str) -> tuple[datetime, datetime]:
    """When the run took and gave back the store's writer lock, from its logs (which arrive in batches)."""
    deadline = time.monotonic() + 120
    while True:
        logs = stack.logs_of(run_id)
        held = [datetime.fromisoformat(e["timestamp"]) for e in logs if e["message"].startswith("holding the store")]
        released = [datetime.fromisoformat(e["timestamp"]) for e in logs if e["message"].startswith("released the store")]
        if held and released:
            assert len(held) == len(released) == 1, stack.log_text(run_id)
            return held[0], released[0]
        assert time.monotonic() < deadline, stack.log_text(run_id)
        time.sleep(2)


@contextmanager
def store_held_elsewhere(stack: Stack, data: Path):
    """Another process holding the writer lock of the store `data`, as a long run would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys\n"
            "from pipeline.store import Store\n"
            f"with Store({str(data)!r}).writer():\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        env=stack.env,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
        holder.stdin.close()  # lets it leave the block, releasing the lock
        assert holder.wait(timeout=120) == 0
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)


def test_two_writing_runs_never_write_at_once(stack, seeded, rng):
    """A UI-started ingest and a backfill, started together while the store is busy, wait and then take turns."""
    data, _ = seeded
    copies = copies_of_seeds(rng)
    inbox = write_jsonl(stack.tmp / "inbox2" / "wire.jsonl", [copies["001"], copies["003"]])
    archive = write_jsonl(stack.tmp / "archive" / "april.jsonl", [copies["002"], copies["004"]])

    # another holder stands in for a long run: both new runs must queue behind it
    with store_held_elsewhere(stack, data):
        ingest_id = stack.run_deployment("storyflow-ingest/ingest", {"inputs": str(inbox.parent), "data_dir": str(data)})
        backfill_id = stack.run_deployment("storyflow-backfill/backfill", {
            "source": str(archive), "start": "2017-04-01", "end": "2017-04-30", "data_dir": str(data),
        })
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not all("store busy" in stack.log_text(r) for r in (ingest_id, backfill_id)):
            for r in (ingest_id, backfill_id):
                assert stack.flow_run(r)["state_type"] in {"SCHEDULED", "PENDING", "RUNNING"}
            assert time.monotonic() < deadline, stack.worker_log()
            time.sleep(2)
        time.sleep(3)
        assert len(read(data, "runs")) == 1  # both are waiting: nothing written
        assert all(stack.flow_run(r)["state_type"] == "RUNNING" for r in (ingest_id, backfill_id))

    for r in (ingest_id, backfill_id):
        stack.wait_state(r, {"COMPLETED"})
    (a_start, a_end), (b_start, b_end) = slot_spans(stack, ingest_id), slot_spans(stack, backfill_id)
    assert a_end <= b_start or b_end <= a_start, "the two runs held the store at the same time"

    # both writes are there (no lost update), and the backfill kept only its date range
    source_ids = {a["source_id"] for a in read(data, "articles")}
    assert {"copy-of-001", "copy-of-003", "copy-of-002"} <= source_ids
    assert "copy-of-004" not in source_ids
    assert len(read(data, "articles")) == 8 and len(read(data, "runs")) == 3
    assert "Left out: 1 story published outside the dates" in stack.log_text(backfill_id)
    backfill_summary = stack.artifacts_of(backfill_id)["markdown"]["data"]
    assert "| stories in | 2 (1 new, 0 already stored) |" in backfill_summary
