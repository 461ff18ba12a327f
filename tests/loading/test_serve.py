"""Following promotions while serving: ModelHandle, and the FastAPI example with a real promote."""

from __future__ import annotations

import importlib.util
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import minireg
from minireg.storage.cache import Folded
from tests.conftest import ROOT, run_proc

with warnings.catch_warnings():
    # Starlette asks for its httpx fork; the TestClient works the same with httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

X = np.random.default_rng(11).normal(size=(120, 5))
Y = (X @ np.array([1.5, -2.0, 0.7, 0.0, 0.3]) > 0).astype(int)
ROWS = X[:6].tolist()
PRODUCTION = "models:/churn_predictor/Production"
# The registry, then the models of churn_predictor v1 (in Production) and v2 (waiting).
Serving = tuple[minireg.Registry, LogisticRegression, LogisticRegression]


def two_models() -> tuple[LogisticRegression, LogisticRegression]:
    """Two models that disagree on ROWS, so an answer shows which one made it."""
    first = LogisticRegression(C=0.01, max_iter=200).fit(X, Y)
    second = LogisticRegression(C=10.0, max_iter=200).fit(X, 1 - Y)
    assert not np.array_equal(first.predict(ROWS), second.predict(ROWS))
    return first, second


@pytest.fixture
def serving(reg: minireg.Registry) -> Serving:
    """churn_predictor v1 in Production, v2 registered and waiting."""
    first, second = two_models()
    for model in (first, second):
        minireg.log_model(model, "churn_predictor", registry=reg, requirements=b"", actor="ds")
    reg.promote("churn_predictor", 1, "Production", actor="ci")
    return reg, first, second


@pytest.fixture
def handle(serving: Serving) -> minireg.ModelHandle:
    """A handle following churn_predictor's Production version, made before the test's changes."""
    return minireg.ModelHandle(PRODUCTION, serving[0])


@pytest.fixture
def other(serving: Serving) -> minireg.Registry:
    """A second Registry on the same folder: the writer whose changes the handle must see."""
    return minireg.open_registry(serving[0].root)


def load_example() -> ModuleType:
    path = ROOT / "examples" / "serve_fastapi.py"
    spec = importlib.util.spec_from_file_location("serve_fastapi_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fastapi_example_follows_a_promotion_made_by_another_process(
    serving: Serving,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg, first, second = serving
    monkeypatch.setenv("MINIREG_REGISTRY", str(reg.root))
    example = load_example()
    with TestClient(example.app) as client:
        info = client.get("/model").json()
        assert info == {
            "name": "churn_predictor",
            "version": 1,
            "stage": "Production",
            "sha256": reg.get("churn_predictor", 1).artifact_sha256,
            "uri": "models:/churn_predictor/Production",
        }
        answer = client.post("/predict", json={"rows": ROWS}).json()
        assert answer["version"] == 1
        assert answer["predictions"] == first.predict(ROWS).tolist()
        assert answer["probabilities"] == first.predict_proba(ROWS).tolist()

        out = run_proc(
            "promote", "churn_predictor", "2", "--to", "Production", "--archive-existing",
            "--registry", str(reg.root), cwd=repo,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr

        info = client.get("/model").json()
        assert info["version"] == 2
        assert info["stage"] == "Production"
        assert info["sha256"] == reg.get("churn_predictor", 2).artifact_sha256
        for _ in range(3):
            answer = client.post("/predict", json={"rows": ROWS}).json()
            assert answer["version"] == 2
            assert answer["predictions"] == second.predict(ROWS).tolist()
            assert answer["probabilities"] == second.predict_proba(ROWS).tolist()
        handle: minireg.ModelHandle = example.app.state.handle
        assert handle.loads == 2
        assert reg.get("churn_predictor", 1).stage == "Archived"


def test_fastapi_example_answers_422_for_bad_rows(
    serving: Serving,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg, _, _ = serving
    monkeypatch.setenv("MINIREG_REGISTRY", str(reg.root))
    with TestClient(load_example().app) as client:
        assert client.post("/predict", json={"rows": [[1.0, 2.0]]}).status_code == 422


def test_get_costs_a_check_of_the_end_not_a_read_until_something_changes(
    serving: Serving, handle: minireg.ModelHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, first, second = serving
    reads: list[int] = []
    original = reg.storage.state

    def counting(initial: str, *, checked: bool = True) -> Folded:
        reads.append(1)
        return original(initial, checked=checked)

    monkeypatch.setattr(reg.storage, "state", counting)
    model = handle.get()
    for _ in range(200):
        assert handle.get() is model
    assert reads == []
    assert handle.version == 1
    assert np.array_equal(model.predict(ROWS), first.predict(ROWS))

    other = minireg.open_registry(reg.root)
    other.promote("churn_predictor", 2, "Production", archive_existing=True, actor="ci")
    swapped = handle.get()
    assert handle.version == 2
    assert np.array_equal(swapped.predict(ROWS), second.predict(ROWS))
    assert len(reads) == 1
    for _ in range(50):
        assert handle.get() is swapped
    assert len(reads) == 1
    assert handle.loads == 2


def test_a_write_that_does_not_move_the_uri_does_not_reload(
    handle: minireg.ModelHandle, other: minireg.Registry
) -> None:
    model = handle.get()
    other.set_description("churn_predictor", 1, "the first one", actor="ci")
    other.set_alias("churn_predictor", "champion", 1, actor="ci")
    assert handle.get() is model
    assert handle.loads == 1
    # The record is fresh all the same.
    assert handle.record.description == "the first one"
    assert handle.record.aliases == ("champion",)


def test_a_failed_reload_keeps_serving_the_current_model(
    handle: minireg.ModelHandle, other: minireg.Registry
) -> None:
    model = handle.get()
    # Production emptied: nothing to resolve to.
    other.promote("churn_predictor", 1, "Archived", actor="ci")
    assert handle.get() is model
    assert isinstance(handle.error, minireg.NotFound)
    # The next promotion recovers, and clears the error.
    other.promote("churn_predictor", 2, "Production", actor="ci")
    assert handle.version == 2
    assert handle.error is None


def test_a_damaged_trail_does_not_stop_serving(
    serving: Serving, handle: minireg.ModelHandle
) -> None:
    reg, first, _ = serving
    events = reg.root / "events.jsonl"
    good = events.read_bytes()
    events.write_bytes(good + b"{not json\n")
    assert np.array_equal(handle.get().predict(ROWS), first.predict(ROWS))
    assert handle.error is not None
    events.write_bytes(good)
    assert handle.version == 1
    assert handle.error is None


def test_a_handle_on_a_missing_stage_fails_at_start(serving: Serving) -> None:
    reg, _, _ = serving
    with pytest.raises(minireg.NotFound, match="No version of churn_predictor is in Staging"):
        minireg.ModelHandle("models:/churn_predictor/Staging", reg)
    with pytest.raises(minireg.InvalidInput):
        minireg.ModelHandle("models:/churn_predictor", reg)


def test_threads_see_one_swap_and_one_load(serving: Serving, handle: minireg.ModelHandle) -> None:
    reg, _, second = serving
    old = handle.get()
    minireg.open_registry(reg.root).promote(
        "churn_predictor", 2, "Production", archive_existing=True, actor="ci"
    )
    start = threading.Barrier(8)
    seen: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        for _ in range(20):
            current = handle.current()
            with lock:
                seen.append((current.record.version, current.model))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 160
    assert {version for version, _ in seen} == {2}
    assert len({id(model) for _, model in seen}) == 1
    assert seen[0][1] is not old
    assert np.array_equal(seen[0][1].predict(ROWS), second.predict(ROWS))
    assert handle.loads == 2
