"""Answers are cached per ``data_version`` and normalised query, and an ingest moves them on."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import api.services.attribution as service
from api.http.app import create_app
from api.http.settings import Settings
from api.services.cache import ResultCache
from api.services.context import Context
from api.services.inputs import Extents, FrameSource, StoreSource, Window
from api.services.queries import AttributionQuery, PeriodQuery
from attribution.cancel import ComputationCancelledError
from attribution.errors import EmptyInputError
from attribution.report import _tiny_example
from ingest import Store, ingest_files

from .conftest import TestClient, check_problem, with_key

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example data (28k touchpoints, 5k conversions) in a store."""
    path = tmp_path_factory.mktemp("cache") / "example.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    return path


@pytest.fixture
def example_client(example_store: Path) -> Iterator[TestClient]:
    settings = Settings(db_path=example_store, cache_bytes=256 * 2**20)
    with TestClient(create_app(settings)) as client:
        yield client


def _timed(client: TestClient, url: str) -> tuple[float, dict[str, object]]:
    began = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return elapsed, body


def test_second_identical_request_is_at_least_20x_faster(example_client: TestClient) -> None:
    url = "/v1/attribution?model=markov&by=campaign"
    cold, first = _timed(example_client, url)
    warm = min(_timed(example_client, url)[0] for _ in range(5))
    assert _timed(example_client, url)[1] == first
    assert cold / warm >= 20, f"cold {cold * 1000:.1f} ms, warm {warm * 1000:.2f} ms"


def test_two_spellings_of_one_query_share_an_entry(example_client: TestClient) -> None:
    first = example_client.get("/v1/attribution?model=time_decay&half_life_days=7")
    hits_before = _cache_hits(example_client)
    again = example_client.get("/v1/attribution?model=time_decay&half_life_days=7.0")
    assert again.json() == first.json()
    assert _cache_hits(example_client) > hits_before


def _cache_hits(client: TestClient) -> int:
    body = client.get("/v1/health").json()
    hits: int = body["cache"]["hits"]
    return hits


def test_pages_are_cut_from_one_cached_result(example_client: TestClient) -> None:
    whole = example_client.get("/v1/attribution?model=linear&by=campaign").json()
    rows, cursor = [], None
    while True:
        url = "/v1/attribution?model=linear&by=campaign&limit=7"
        page = example_client.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        rows += page["data"]
        assert page["totals"] == whole["totals"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert rows == whole["data"]


NEW_CONVERSION = (
    "conversion_id,user_id,ts,stage,revenue\nnew-1,someone-new,2024-03-01T00:00:00Z,{stage},1000\n"
)


def test_an_ingest_over_http_is_reflected_in_the_next_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    for table in ("touchpoints", "conversions"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    stage = "closed_won"  # a revenue stage: the new conversion's revenue moves the total
    assert stage in store.stages()
    with TestClient(create_app(Settings(db_path=store.path))) as client:
        with_key(client, store.path)
        url = f"/v1/attribution?model=linear&stage={stage}"
        before = client.get(url).json()["totals"]["revenue"]
        upload = {"file": ("more.csv", NEW_CONVERSION.format(stage=stage).encode())}
        assert client.post("/v1/ingest/conversions", files=upload).status_code == 200
        after = client.get(url).json()["totals"]["revenue"]
    assert after == pytest.approx(before + 1000)


def test_an_ingest_from_another_process_is_reflected_in_the_next_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    for table in ("touchpoints", "conversions"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    stage = "closed_won"  # a revenue stage: the new conversion's revenue moves the total
    assert stage in store.stages()
    extra = tmp_path / "more.csv"
    extra.write_text(NEW_CONVERSION.format(stage=stage))
    with TestClient(create_app(Settings(db_path=store.path))) as client:
        url = f"/v1/attribution?model=first_touch&stage={stage}"
        before = client.get(url).json()["totals"]["revenue"]
        assert client.get(url).json()["totals"]["revenue"] == before  # cached
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli",
                "ingest",
                "conversions",
                str(extra),
                "--db",
                str(store.path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        after = client.get(url).json()["totals"]["revenue"]
    assert after == pytest.approx(before + 1000)


def test_the_cache_is_bounded_in_bytes(example_store: Path) -> None:
    settings = Settings(db_path=example_store, cache_bytes=2**20)
    with TestClient(create_app(settings)) as client:
        for model in ("first_touch", "last_touch", "linear", "position_based"):
            assert client.get(f"/v1/attribution?model={model}").status_code == 200
        cache = client.get("/v1/health").json()["cache"]
    assert cache["bytes"] <= cache["max_bytes"] == 2**20


# --- Cache hits never wait for computations; one answer is computed once (#12, load) ---

DEADLINE = 30.0
"""Seconds any wait of these tests may take before it counts as a hang."""


@pytest.fixture
def own_store(filled_db: Path, tmp_path: Path) -> Path:
    """A copy of the example store: its own settings, hence its own server cache."""
    path = tmp_path / "own.duckdb"
    shutil.copyfile(filled_db, path)
    return path


class Counted:
    """Wraps ``attribution_report`` to count its runs per model on one store, holding some."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, store: Path, hold: set[str] | None = None
    ) -> None:
        self.runs: Counter[str] = Counter()
        self.hold = hold or set()
        self.started = threading.Event()
        self.release = threading.Event()
        original = service.attribution_report
        counted_store = str(store.resolve())

        def counted(ctx: Context, query: AttributionQuery, progress: Any = None) -> Any:
            if ctx.source.identity() != counted_store:  # another app's (the reference's)
                return original(ctx, query, progress)
            self.runs[query.model.name] += 1
            if query.model.name in self.hold:
                self.started.set()
                assert self.release.wait(DEADLINE), "never released"
            return original(ctx, query, progress)

        monkeypatch.setattr(service, "attribution_report", counted)


def test_a_cache_hit_is_answered_while_every_slot_computes(
    own_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch, own_store, hold={"first_touch"})
    settings = Settings(db_path=own_store, max_compute=1, compute_wait_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/attribution?model=linear").status_code == 200  # now cached
        slow: list[int] = []
        holder = threading.Thread(
            target=lambda: slow.append(client.get("/v1/attribution?model=first_touch").status_code)
        )
        holder.start()
        try:
            assert counted.started.wait(DEADLINE)  # it computes, in the only slot
            hit = client.get("/v1/attribution?model=linear")
            assert hit.status_code == 200, hit.text  # queued for the slot, it would be a 503
            # A miss does wait for the slot, then gets the same 503 as ever.
            refused = client.get("/v1/attribution?model=last_touch")
            problem = check_problem(refused, 503, "Server busy")
            assert refused.headers["retry-after"] == "1"
            assert "CLOSEDLOOP_MAX_COMPUTE" in problem["detail"]
            assert holder.is_alive()  # the slow one held the slot throughout
        finally:
            counted.release.set()
            holder.join(DEADLINE)
    assert slow == [200]
    assert counted.runs == Counter({"linear": 1, "first_touch": 1})


def test_a_burst_of_identical_cold_requests_computes_once(
    own_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    burst = 8
    counted = Counted(monkeypatch, own_store, hold={"linear"})
    arrived = threading.Semaphore(0)
    lookup = ResultCache.get_or_compute

    def counting(self: ResultCache, version: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(key, tuple) and key[0] == "attribution":
            arrived.release()
        return lookup(self, version, key, *args, **kwargs)

    monkeypatch.setattr(ResultCache, "get_or_compute", counting)
    settings = Settings(db_path=own_store, max_compute=1, compute_wait_seconds=DEADLINE)
    with TestClient(create_app(settings)) as client, ThreadPoolExecutor(burst) as pool:
        # The server's cache is made on its first request (a cold burst could make several).
        assert client.get("/v1/health").status_code == 200
        answers = [pool.submit(client.get, "/v1/attribution?model=linear") for _ in range(burst)]
        for _ in range(burst):  # every request is looking the answer up ...
            assert arrived.acquire(timeout=DEADLINE)
        assert counted.started.wait(DEADLINE)  # ... while the first computes it
        counted.release.set()
        bodies = [answer.result(DEADLINE) for answer in answers]
    assert [body.status_code for body in bodies] == [200] * burst
    assert len({body.content for body in bodies}) == 1
    assert counted.runs == Counter({"linear": 1})


def test_the_whole_range_shares_the_undated_computation_and_answers_as_before(
    own_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's first request has no dates; the next ones name the range it reported."""
    reference_store = tmp_path / "reference.duckdb"
    shutil.copyfile(own_store, reference_store)
    counted = Counted(monkeypatch, own_store)
    reads: Counter[str] = Counter()
    converting = StoreSource.converting

    def counting(self: StoreSource, window: Window, **kwargs: Any) -> Any:
        if self.store.path == own_store:
            reads[f"{window.start}..{window.end}"] += 1
        return converting(self, window, **kwargs)

    monkeypatch.setattr(StoreSource, "converting", counting)
    # The reference caches nothing, so it shares nothing: every answer computed on its own.
    reference = TestClient(create_app(Settings(db_path=reference_store, cache_bytes=0)))
    with reference, TestClient(create_app(Settings(db_path=own_store))) as client:
        undated = client.get("/v1/attribution?model=linear")
        first, last = undated.json()["start"], undated.json()["end"]
        whole = f"/v1/attribution?model=linear&start={first}&end={last}"
        dated = client.get(whole)
        assert counted.runs["linear"] == 1  # the dated one was the undated's answer
        assert reads == Counter({"None..None": 1})
        assert dated.json() == undated.json()
        for url, answer in (("/v1/attribution?model=linear", undated), (whole, dated)):
            assert answer.content == reference.get(url).content  # byte for byte as before

        # A wider range computes the same, but reports its own dates: only the model reruns.
        wider = "/v1/attribution?model=linear&start=2023-12-01&end=2024-02-29"
        answer = client.get(wider)
        assert answer.json()["start"] == "2023-12-01"
        assert answer.content == reference.get(wider).content
        assert counted.runs["linear"] == 2
        assert reads == Counter({"None..None": 1})

        # A period inside the data is a question of its own.
        narrower = f"/v1/attribution?model=linear&start=2024-01-03&end={last}"
        answer = client.get(narrower)
        assert answer.content == reference.get(narrower).content
        assert reads == Counter({"None..None": 1, "2024-01-03..None": 1})

        # Every journey-based route shares the inputs the same way (the time series here).
        for url in (
            "/v1/timeseries?model=linear",
            f"/v1/timeseries?model=linear&start={first}&end={last}",
        ):
            assert client.get(url).content == reference.get(url).content
        assert reads == Counter({"None..None": 1, "2024-01-03..None": 1})


class MovingSource(FrameSource):
    """Frames whose ``data_version`` moves on while a value is fetched (an ingest racing)."""

    def __init__(self) -> None:
        super().__init__(*_tiny_example())
        self.version = 1

    def data_version(self) -> int:
        return self.version

    def extents(self) -> Extents:
        return Extents(None, None, None, None, data_version=self.version)


def test_a_shared_value_read_while_the_data_changed_is_not_used() -> None:
    source = MovingSource()
    ctx = Context(source, ResultCache(2**20))
    asked = PeriodQuery(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31))
    fetched: list[PeriodQuery] = []

    def fetch(query: PeriodQuery) -> PeriodQuery:
        fetched.append(query)
        source.version += 1  # an ingest commits meanwhile
        return query

    assert ctx.shared(asked, fetch) == asked  # the undated value was not taken
    assert fetched == [PeriodQuery(), asked]
    fetched.clear()

    def still(query: PeriodQuery) -> PeriodQuery:
        fetched.append(query)
        return query

    assert ctx.shared(asked, still) == PeriodQuery()
    assert fetched == [PeriodQuery()]  # the data stood still: the undated value served


def _owner_and_waiter(cache: ResultCache, first: object) -> tuple[list[str], list[object]]:
    """Compute a key that ends as ``first`` says once a second caller waits for it.

    Returns the computations run and what each caller got (value or error), first's first.
    """
    runs: list[str] = []
    got: list[object] = []
    release = threading.Event()

    def owner() -> str:
        runs.append("owner")
        assert release.wait(DEADLINE)
        if isinstance(first, BaseException):
            raise first
        return str(first)

    def waiter() -> str:
        runs.append("waiter")
        return "computed again"

    def call(compute: Callable[[], str]) -> None:
        try:
            got.append(cache.get_or_compute(("s", 1), "k", compute))
        except BaseException as exc:
            got.append(exc)

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.001)

    callers = [threading.Thread(target=call, args=(owner,))]
    callers[0].start()
    until(lambda: bool(runs))  # the owner computes ...
    callers.append(threading.Thread(target=call, args=(waiter,)))
    callers[1].start()
    until(lambda: cache.waiting() == 1)  # ... while the second waits for it
    release.set()
    for caller in callers:
        caller.join(DEADLINE)
    return runs, got


def test_callers_of_one_key_share_its_value_or_its_error() -> None:
    runs, got = _owner_and_waiter(ResultCache(0), "value")  # even caching nothing
    assert runs == ["owner"]
    assert got == ["value", "value"]

    error = EmptyInputError("There are no conversions to attribute.")
    runs, got = _owner_and_waiter(ResultCache(2**20), error)
    assert runs == ["owner"]  # the question has no answer: asking again would not change it
    assert got == [error, error]


def test_a_stopped_computation_is_computed_anew_by_those_waiting_for_it() -> None:
    stopped = ComputationCancelledError("The client went away.")
    runs, got = _owner_and_waiter(ResultCache(2**20), stopped)
    assert runs == ["owner", "waiter"]  # the first's stop says nothing of the question
    assert got == [stopped, "computed again"]
