"""`register_many`: records in order, one lock and one append, all or nothing, shared work once."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.domain.ledger import render_csv
from minireg.domain.state import fold
from minireg.errors import InvalidItems, LocalIOError, UnsafeItems
from tests.conftest import tree_digest
from tests.support.registry import assert_objects_sound, checked_events


def artifacts(folder: Path, count: int, prefix: str = "m") -> list[Path]:
    """``count`` small files of distinct bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"{prefix}{n}.bin"
        path.write_bytes(f"{prefix} model {n}\n".encode())
        paths.append(path)
    return paths


def assert_ledger_is_the_view(reg: minireg.Registry) -> None:
    events = checked_events(reg.root)
    assert (reg.root / "ledger.csv").read_bytes() == render_csv(fold(events).records())
    assert reg.verify().ok


def test_records_come_back_in_order_numbered_per_model(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    paths = artifacts(repo / "arts", 5)
    models = ["churn", "fraud", "churn", "churn", "fraud"]
    items: list[dict[str, Any]] = [
        {"model": model, "artifact": str(path), "metrics": {"auc_roc": n / 10}, "params": {"n": n}}
        for n, (model, path) in enumerate(zip(models, paths))
    ]
    items[1]["tags"] = {"team": "risk"}
    items[2]["description"] = "third"
    records = reg.register_many(items, actor="batcher")

    assert [(r.model, r.version) for r in records] == [
        ("churn", 3),
        ("fraud", 1),
        ("churn", 4),
        ("churn", 5),
        ("fraud", 2),
    ]
    assert [r.metrics["auc_roc"] for r in records] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert records[1].tags == {"team": "risk"} and records[2].description == "third"
    assert records == [reg.get(r.model, r.version) for r in records]
    assert {r.registered_by for r in records} == {"batcher"}
    assert len({r.created_at for r in records}) == 1, "one batch, one moment"
    # Events in the items' order, one per item, right after the two registrations before.
    events = checked_events(reg.root)
    assert [(e.seq, e.model, e.version) for e in events[2:]] == [
        (3 + i, r.model, r.version) for i, r in enumerate(records)
    ]
    for rec, path in zip(records, paths):
        assert reg.artifact_path(rec).read_bytes() == path.read_bytes()
    assert_ledger_is_the_view(reg)


def test_one_lock_one_append_and_one_ledger_write(
    reg: minireg.Registry, artifact: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")  # the ledger is vouched
    calls: dict[str, int] = {}
    storage = reg.storage
    for name in ("lock", "append_events", "write_ledger"):
        real = getattr(storage, name)

        def counting(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kw)

        monkeypatch.setattr(storage, name, counting)
    renders: list[int] = []
    real_render = reg._writer.render
    monkeypatch.setattr(
        reg._writer, "render", lambda *a, **k: renders.append(1) or real_render(*a, **k)
    )
    size = len(checked_events(reg.root))
    items = [{"model": f"m{n % 3}", "artifact": str(p)} for n, p in enumerate(artifacts(repo, 40))]
    reg.register_many(items, actor="me")
    assert calls == {"lock": 1, "append_events": 1, "write_ledger": 1}
    assert len(checked_events(reg.root)) == size + 40
    assert renders == [], "the new rows are inserted, not the whole ledger rendered again"
    assert_ledger_is_the_view(reg)


SINGLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import minireg

    root, go, name, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    reg = minireg.open_registry(root)
    while not go.exists():
        time.sleep(0.002)
    for i in range(count):
        art = Path(f"{name}-{i}.bin")
        art.write_bytes(f"{name} {i}".encode())
        rec = reg.register("solo", art, requirements=b"x==1\\n", actor=name)
        print(rec.version, flush=True)
    """
)


@pytest.mark.slow
def test_a_batch_lands_whole_while_single_registers_from_other_processes_land_too(
    reg: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    script = tmp_path / "single.py"
    script.write_text(SINGLE)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(reg.root), str(go), f"w{n}", "12"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    items = [
        {"model": "batch", "artifact": str(p), "requirements": b"x==1\n"}
        for p in artifacts(repo / "arts", 300)
    ]
    time.sleep(0.5)  # every worker imported and waiting at the start line
    go.write_text("go")
    records = reg.register_many(items, actor="batcher")
    for proc in procs:
        out, errs = proc.communicate(timeout=300)
        assert proc.returncode == 0, errs
        assert len(out.split()) == 12
    events = checked_events(reg.root)
    assert len(events) == 300 + 3 * 12
    ours = [e.seq for e in events if e.actor == "batcher"]
    assert ours == list(range(ours[0], ours[0] + 300)), "the batch is one append: no event between"
    assert [r.version for r in records] == list(range(1, 301))
    assert sorted(r.version for r in reg.versions("solo")) == list(range(1, 37))
    assert_ledger_is_the_view(reg)
    assert assert_objects_sound(reg.root) == []


def test_every_bad_item_is_reported_and_nothing_is_written(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    good = artifacts(repo / "new", 3, "fresh")
    before = tree_digest(reg.root)
    items: list[Any] = [
        {"model": "churn", "artifact": str(good[0])},
        {"model": "churn", "artifact": str(repo / "missing.bin")},
        {"model": "bad name", "artifact": str(good[1])},
        {"model": "churn", "artifact": str(good[2]), "metrics": {"auc_roc": "high"}},
        {"model": "churn", "artifact": str(good[2]), "colour": "red"},
        {"model": "churn"},
        ["churn", str(good[0])],
        {"model": "churn", "artifact": str(good[2]), "training_date": "yesterday"},
        {"model": "churn", "artifact": str(good[2]), "metrics": [1, 2]},
    ]
    with pytest.raises(InvalidItems) as caught:
        reg.register_many(items, actor="me")
    err = caught.value
    assert err.exit_code == 2
    assert [index for index, _ in err.problems] == [1, 2, 3, 4, 5, 6, 7, 8]
    sentences = dict(err.problems)
    assert sentences[1] == f"The artifact {repo / 'missing.bin'} does not exist."
    assert sentences[2].startswith("Model name 'bad name' is not valid")
    assert sentences[3] == "Metric 'auc_roc' is 'high'; metrics must be numbers."
    assert sentences[4].startswith("Unknown key 'colour'; an item may have model, artifact,")
    assert sentences[5] == "The item has no 'artifact'."
    assert sentences[6].startswith("The item is list, not a mapping")
    assert sentences[7].startswith("The training date 'yesterday' is not an ISO 8601 date")
    assert sentences[8] == "'metrics' is [1, 2]; it must be a mapping of name to number."
    assert err.summary == "8 of 9 items are not valid, so nothing was registered"
    assert str(err).startswith(f"{err.summary}: items[1]: The artifact ")
    assert str(err).endswith("(and 7 more)")
    assert err.details[0] == f"items[1]: {sentences[1]}"
    # Byte for byte as it was: no event, no ledger row, and not even the good items' objects.
    assert tree_digest(reg.root) == before
    assert assert_objects_sound(reg.root) == []


def test_a_symlink_in_a_folder_artifact_is_unsafe_and_nothing_is_written(
    reg: minireg.Registry, repo: Path
) -> None:
    folder = repo / "model_dir"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights")
    (folder / "link.bin").symlink_to(repo / "train.py")
    plain = artifacts(repo / "arts", 1)[0]
    before = tree_digest(reg.root)
    items = [{"model": "churn", "artifact": str(plain)}, {"model": "churn", "artifact": folder}]
    with pytest.raises(UnsafeItems) as caught:
        reg.register_many(items, actor="me")
    assert caught.value.exit_code == 8
    assert [i for i, _ in caught.value.problems] == [1]
    assert "is a symlink" in caught.value.problems[0][1]
    assert tree_digest(reg.root) == before


def test_git_and_the_environment_are_read_once_and_requirements_stored_once(
    reg: minireg.Registry, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minireg.adapters.git import info
    from minireg.service import environment

    counted = {"describe": 0, "requirements": 0}
    real_describe, real_requirements = info.describe, environment.environment_requirements

    def describe(*args: Any, **kw: Any) -> info.GitInfo:
        counted["describe"] += 1
        return real_describe(*args, **kw)

    def requirements() -> bytes:
        counted["requirements"] += 1
        return real_requirements()

    monkeypatch.setattr(info, "describe", describe)
    monkeypatch.setattr(environment, "environment_requirements", requirements)
    pinned = repo / "requirements.txt"
    pinned.write_text("scikit-learn==1.5.0\n")
    paths = artifacts(repo / "arts", 6)
    items: list[dict[str, Any]] = [{"model": "churn", "artifact": p} for p in paths]
    items[4]["requirements"] = str(pinned)
    items[5]["requirements"] = pinned
    records = reg.register_many(items, actor="me")
    assert counted == {"describe": 1, "requirements": 1}
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert {r.git_commit for r in records} == {head}
    digests = [r.requirements_sha256 for r in records]
    assert len(set(digests[:4])) == 1 and len(set(digests[4:])) == 1
    assert reg.requirements(records[5]) == "scikit-learn==1.5.0\n"
    assert reg.requirements(records[0]) == real_requirements().decode()


def test_an_empty_batch_writes_nothing(reg: minireg.Registry) -> None:
    before = tree_digest(reg.root)
    assert reg.register_many([], actor="me") == []
    assert tree_digest(reg.root) == before


def test_folders_data_and_flavors_are_registered_as_register_does(
    reg: minireg.Registry, repo: Path, artifact: Path
) -> None:
    folder = repo / "model_dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    data = repo / "train.csv"
    data.write_text("x,y\n1,2\n")
    common = {"requirements": b"x==1\n", "training_date": "2024-03-01", "data": data}
    records = reg.register_many(
        [
            {"model": "one", "artifact": folder, **common},
            {"model": "one", "artifact": artifact, "flavor": "joblib", **common},
        ],
        actor="me",
    )
    twin = reg.register("two", artifact, flavor="joblib", actor="me", **common)
    assert records[0].artifact == "model_dir/" and records[0].flavor == "dir"
    assert (reg.artifact_path(records[0]) / "sub" / "b.txt").read_text() == "b"
    skip = ("model", "version", "created_at")
    assert {k: v for k, v in records[1].to_dict().items() if k not in skip} == {
        k: v for k, v in twin.to_dict().items() if k not in skip
    }
    assert_ledger_is_the_view(reg)


def _limited(limit: int) -> None:
    """In the child: files may not grow past ``limit`` bytes (EFBIG instead of SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_disk_failing_mid_batch_leaves_no_object_and_no_temp_file(
    reg: minireg.Registry, repo: Path, artifact: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    small = artifacts(repo / "arts", 3)
    big = repo / "big.bin"
    big.write_bytes(os.urandom(300_000))  # past the child's file size limit
    lines = [
        f'{{"model": "churn", "artifact": "{p.name}", "requirements": "{small[0].name}"}}'
        for p in [*small, big]
    ]
    (repo / "arts" / "batch.jsonl").write_text("\n".join(lines) + "\n")
    big.rename(repo / "arts" / "big.bin")
    before = tree_digest(reg.root)
    res = subprocess.run(
        [sys.executable, "-m", "minireg", "register", "--batch", "batch.jsonl"],
        cwd=repo / "arts",
        env={**os.environ, "MINIREG_REGISTRY": str(reg.root), "MINIREG_ACTOR": "me"},
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limited(200_000),
        check=False,
    )
    assert res.returncode == LocalIOError.exit_code, res.stderr
    assert "File too large (EFBIG); nothing was recorded." in res.stderr
    assert tree_digest(reg.root) == before
    assert assert_objects_sound(reg.root) == []
