"""load_model: by flavor, digest checked before deserializing, pickle policy, skops trust."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import minireg
from tests.conftest import run_cli, tree_digest

X = np.random.default_rng(7).normal(size=(200, 4))
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(int)


def fitted(c: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=200).fit(X, Y)


def same_predictions(a: Any, b: Any) -> bool:
    return bool(
        np.array_equal(a.predict(X), b.predict(X))
        and np.array_equal(a.predict_proba(X), b.predict_proba(X))
    )


class Scale(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A custom step: skops does not trust it unless told to."""

    def __init__(self, factor: float = 2.0) -> None:
        self.factor = factor

    def fit(self, x: Any, y: Any = None) -> Scale:
        return self

    def transform(self, x: Any) -> Any:
        return np.asarray(x) * self.factor


class Boom:
    """A pickle payload: unpickling it creates ``marker`` (a stand-in for any code at all)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


def make_writable_and_flip(path: Path, offset: int = 10) -> None:
    """Flip one byte of a stored object (objects are read-only: chmod first)."""
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def set_toml(reg: minireg.Registry, old: str, new: str) -> minireg.Registry:
    toml = reg.root / "minireg.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new), encoding="utf-8")
    return minireg.open_registry(reg.root)


# -- flavors -------------------------------------------------------------------


def test_joblib_model_predicts_exactly_as_registered(reg: minireg.Registry, repo: Path) -> None:
    model = fitted()
    joblib.dump(model, repo / "model.joblib")
    rec = reg.register("churn", repo / "model.joblib", requirements=b"", actor="ds")
    assert rec.flavor == "joblib"
    loaded = minireg.load_model("models:/churn/1", reg)
    assert isinstance(loaded, LogisticRegression)
    assert loaded is not model
    assert same_predictions(loaded, model)


def test_pickle_model_predicts_exactly_as_registered(reg: minireg.Registry, repo: Path) -> None:
    model = fitted(0.3)
    (repo / "model.pkl").write_bytes(pickle.dumps(model))
    rec = reg.register("churn", repo / "model.pkl", requirements=b"", actor="ds")
    assert rec.flavor == "pickle"
    loaded = minireg.load_model("models:/churn/latest", reg)
    assert same_predictions(loaded, model)


@pytest.mark.parametrize(
    ("name", "dump"),
    [
        ("compressed.joblib", lambda m, p: joblib.dump(m, p, compress=3)),
        ("by_joblib.pkl", lambda m, p: joblib.dump(m, p)),
        ("highest.pickle", lambda m, p: p.write_bytes(pickle.dumps(m, pickle.HIGHEST_PROTOCOL))),
    ],
)
def test_other_pickle_spellings_load(
    reg: minireg.Registry, repo: Path, name: str, dump: Any
) -> None:
    model = fitted(0.7)
    dump(model, repo / name)
    reg.register("churn", repo / name, requirements=b"", actor="ds")
    assert same_predictions(minireg.load_model("models:/churn/1", reg), model)


def test_skops_model_predicts_exactly_as_registered(reg: minireg.Registry, repo: Path) -> None:
    model = fitted(3.0)
    skops.io.dump(model, repo / "model.skops")
    rec = reg.register("churn", repo / "model.skops", requirements=b"", actor="ds")
    assert rec.flavor == "skops"
    reg.promote("churn", 1, "Production", actor="ci")
    loaded = minireg.load_model("models:/churn/production", reg)
    assert same_predictions(loaded, model)


def test_log_model_then_load_for_each_serialization(reg: minireg.Registry) -> None:
    for serialization, c in (("joblib", 0.5), ("skops", 2.0)):
        model = fitted(c)
        rec = minireg.log_model(
            model,
            "churn",
            serialization=serialization,
            registry=reg,
            metrics={"auc_roc": 0.9},
            params={"C": c},
            description=f"C={c}",
            requirements=b"",
            actor="ds",
        )
        assert rec.flavor == serialization
        assert rec.metrics == {"auc_roc": 0.9}
        assert rec.params == {"C": str(c)}
        assert rec.description == f"C={c}"
        assert rec.artifact == f"model.{serialization}"
        assert same_predictions(minireg.load_model(rec.uri, reg), model)
    assert [r.version for r in reg.versions("churn")] == [1, 2]


def test_log_model_refuses_bad_options_and_writes_nothing(reg: minireg.Registry) -> None:
    before = tree_digest(reg.root)
    with pytest.raises(minireg.InvalidInput, match="Serialization 'cloudpickle' is not known"):
        minireg.log_model(fitted(), "churn", serialization="cloudpickle", registry=reg)
    with pytest.raises(minireg.InvalidInput, match="not valid"):
        minireg.log_model(fitted(), "bad/name", registry=reg)
    with pytest.raises(minireg.InvalidInput, match="sets flavor itself"):
        minireg.log_model(fitted(), "churn", registry=reg, flavor="pickle")
    assert tree_digest(reg.root) == before


def test_folder_artifact_comes_back_as_a_path_whose_files_match(
    reg: minireg.Registry, repo: Path
) -> None:
    folder = repo / "bundle"
    (folder / "tokenizer").mkdir(parents=True)
    files = {
        "weights.bin": bytes(range(256)) * 10,
        "tokenizer/vocab.txt": b"a\nb\nc\n",
        "config.json": b'{"layers": 2}',
    }
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    reg.register("bundle", folder, requirements=b"", actor="ds")
    loaded = minireg.load_model("models:/bundle/1", reg)
    assert isinstance(loaded, Path)
    found = {
        p.relative_to(loaded).as_posix(): p.read_bytes() for p in loaded.rglob("*") if p.is_file()
    }
    assert found == files


def test_a_tampered_file_in_a_folder_artifact_is_caught(reg: minireg.Registry, repo: Path) -> None:
    folder = repo / "bundle"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"first file, long enough to flip")
    (folder / "b.bin").write_bytes(b"second file, long enough to flip")
    reg.register("bundle", folder, requirements=b"", actor="ds")
    assert isinstance(minireg.load_model("models:/bundle/1", reg), Path)
    digest = hashlib.sha256((folder / "b.bin").read_bytes()).hexdigest()
    make_writable_and_flip(reg.storage.object_path(digest))
    with pytest.raises(minireg.IntegrityError) as info:
        minireg.load_model("models:/bundle/1", reg)
    assert any("b.bin" in problem for problem in info.value.problems)


def test_plain_file_comes_back_as_a_path(reg: minireg.Registry, repo: Path) -> None:
    (repo / "weights.bin").write_bytes(b"\x00weights\xff")
    reg.register("raw", repo / "weights.bin", requirements=b"", actor="ds")
    loaded = minireg.load_model("models:/raw/1", reg)
    assert isinstance(loaded, Path)
    assert loaded.read_bytes() == b"\x00weights\xff"


def test_onnx_model_loads_as_an_inference_session(reg: minireg.Registry, repo: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    model = fitted()
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32))
    (repo / "model.onnx").write_bytes(onx.SerializeToString())
    rec = reg.register("churn", repo / "model.onnx", requirements=b"", actor="ds")
    assert rec.flavor == "onnx"
    session = minireg.load_model("models:/churn/1", reg)
    assert isinstance(session, onnxruntime.InferenceSession)
    labels, probabilities = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    assert np.array_equal(labels, model.predict(X))
    assert np.allclose([p[1] for p in probabilities], model.predict_proba(X)[:, 1], atol=1e-5)


# -- integrity before deserializing -------------------------------------------------


@pytest.fixture
def booby_trapped(reg: minireg.Registry, repo: Path) -> tuple[minireg.Registry, Path, Path]:
    """A stored pickle whose unpickling would create a marker file; the marker's path."""
    marker = repo / "PWNED"
    payload = pickle.dumps(Boom(marker))
    # The payload really runs when unpickled, so the tests below can fail.
    probe = repo / "probe"
    pickle.loads(pickle.dumps(Boom(probe)))
    assert probe.exists()
    probe.unlink()
    (repo / "model.pkl").write_bytes(payload)
    rec = reg.register("churn", repo / "model.pkl", requirements=b"", actor="ds")
    reg.promote("churn", rec.version, "Production", actor="ci")
    return reg, reg.storage.object_path(rec.artifact_sha256), marker


def test_a_tampered_pickle_is_refused_before_it_is_unpickled(
    booby_trapped: tuple[minireg.Registry, Path, Path],
) -> None:
    reg, obj, marker = booby_trapped
    make_writable_and_flip(obj, offset=len(obj.read_bytes()) - 3)
    with pytest.raises(minireg.IntegrityError, match="does not match its recorded sha256") as info:
        minireg.load_model("models:/churn/Production", reg)
    assert info.value.exit_code == 6
    assert not marker.exists()
    with pytest.raises(minireg.IntegrityError):
        minireg.ModelHandle("models:/churn/Production", reg)
    assert not marker.exists()
    # From the CLI, the same check gives exit 6 (checkout re-hashes too) and writes nothing.
    res = run_cli("checkout", "models:/churn/Production", str(reg.root.parent / "out.pkl"))
    assert res.exit_code == 6, res.stderr
    assert "error: The artifact of churn version 1 does not match its recorded sha256" in res.stderr
    assert not (reg.root.parent / "out.pkl").exists()
    assert not marker.exists()


def test_allow_pickle_false_refuses_an_untampered_pickle(
    booby_trapped: tuple[minireg.Registry, Path, Path],
) -> None:
    reg, _, marker = booby_trapped
    strict = set_toml(reg, "allow_pickle = true", "allow_pickle = false")
    with pytest.raises(minireg.Unsafe) as info:
        minireg.load_model("models:/churn/Production", strict)
    assert info.value.exit_code == 8
    assert "allow_pickle = false" in info.value.message
    assert "skops" in info.value.message and "ONNX" in info.value.message
    assert not marker.exists()


def test_allow_pickle_false_refuses_joblib_but_loads_skops(reg: minireg.Registry) -> None:
    minireg.log_model(fitted(), "churn", registry=reg, requirements=b"", actor="ds")
    model = fitted(2.0)
    minireg.log_model(
        model, "churn", serialization="skops", registry=reg, requirements=b"", actor="ds"
    )
    strict = set_toml(reg, "allow_pickle = true", "allow_pickle = false")
    with pytest.raises(minireg.Unsafe, match="joblib artifact"):
        minireg.load_model("models:/churn/1", strict)
    assert same_predictions(minireg.load_model("models:/churn/2", strict), model)


# -- skops trust ---------------------------------------------------------------


def test_skops_untrusted_types_are_refused_until_trusted(reg: minireg.Registry) -> None:
    model = make_pipeline(Scale(3.0), LogisticRegression(max_iter=200)).fit(X, Y)
    minireg.log_model(
        model, "scaled", serialization="skops", registry=reg, requirements=b"", actor="ds"
    )
    name = f"{Scale.__module__}.Scale"
    with pytest.raises(minireg.Unsafe, match="not trusted") as info:
        minireg.load_model("models:/scaled/1", reg)
    assert name in info.value.message
    assert "skops_trusted" in info.value.message
    by_argument = minireg.load_model("models:/scaled/1", reg, trusted=[name])
    assert same_predictions(by_argument, model)
    trusting = set_toml(reg, "skops_trusted = []", f'skops_trusted = ["{name}"]')
    assert same_predictions(minireg.load_model("models:/scaled/1", trusting), model)


# -- staying light ---------------------------------------------------------------


def test_import_minireg_stays_light() -> None:
    code = (
        "import sys, minireg, minireg.loading\n"
        "assert callable(minireg.load_model) and minireg.ModelHandle and minireg.resolve\n"
        "heavy = [m for m in ('joblib', 'sklearn', 'onnxruntime', 'skops', 'numpy', 'pandas',"
        " 'fastapi') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_unknown_attribute_of_minireg_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'load_modle'"):
        minireg.load_modle  # type: ignore[attr-defined]  # noqa: B018
