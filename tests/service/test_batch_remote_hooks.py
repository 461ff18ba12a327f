"""`register_many` beside the remote and the hooks: a batch uploads before it records, and
its after-write hooks hear every version, as single registrations do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minireg
from minireg.errors import RemoteError
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.remotes import Remote, free_port
from tests.support.webhooks import add_hooks, python_hook, toml_list


def items(folder: Path, count: int) -> list[dict[str, object]]:
    """``count`` registrations of two models, each a small file of its own bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    found: list[dict[str, object]] = []
    for n in range(count):
        path = folder / f"m{n}.bin"
        path.write_bytes(f"model {n}\n".encode())
        found.append(
            {
                "model": "churn" if n % 2 else "fraud",
                "artifact": path,
                "requirements": f"scikit-learn==1.{n}\n".encode(),
            }
        )
    return found


def test_a_batch_uploads_every_object_before_it_records_and_a_clone_loads_them(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    records = reg.register_many(items(tmp_path / "work", 6))
    assert [(r.model, r.version) for r in records] == [
        ("fraud", 1), ("churn", 1), ("fraud", 2), ("churn", 2), ("fraud", 3), ("churn", 3),
    ]  # fmt: skip
    for n, rec in enumerate(records):
        assert remote.read(rec.artifact_sha256) == f"model {n}\n".encode()
        assert remote.read(rec.requirements_sha256) == f"scikit-learn==1.{n}\n".encode()
    publish(repo)
    clone = minireg.open_registry(fresh_clone(repo, tmp_path))
    assert clone.artifact_path(clone.get("churn", 3)).read_bytes() == b"model 5\n"


def test_a_batch_with_no_upload_keeps_its_objects_here_until_push(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    records = reg.register_many(items(tmp_path / "work", 3), upload=False)
    assert all(remote.read(rec.artifact_sha256) is None for rec in records)
    reg.push()
    assert [remote.read(rec.artifact_sha256) for rec in records] == [
        b"model 0\n", b"model 1\n", b"model 2\n",
    ]  # fmt: skip


def test_an_unreachable_remote_refuses_the_whole_batch_and_records_nothing(
    repo: Path, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = remote_registry(repo, remote)
    if remote.kind == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    else:
        assert remote.folder is not None
        remote.folder.rename(remote.folder.with_name("moved"))
    batch = items(tmp_path / "work", 4)
    recorded = [(reg.root / name).read_bytes() for name in ("events.jsonl", "ledger.csv")]
    with pytest.raises(RemoteError) as caught:
        minireg.open_registry(reg.root).register_many(batch)
    assert caught.value.recorded is False
    assert "nothing was recorded" in caught.value.message
    assert [(reg.root / name).read_bytes() for name in ("events.jsonl", "ledger.csv")] == recorded


RECORD = """
import json, sys
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps(json.load(sys.stdin)) + "\\n")
"""


def test_after_hooks_hear_each_version_of_a_batch(reg: minireg.Registry, tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    hook = tmp_path / "record.py"
    hook.write_text(RECORD)
    reg = add_hooks(
        reg,
        f"""[[hooks.after]]
on = ["register"]
command = {toml_list([*python_hook(hook), str(out)])}
""",
    )
    records = reg.register_many(items(tmp_path / "work", 3))
    heard = [json.loads(line) for line in out.read_text().splitlines()]
    got = [(h["data"]["name"], h["data"]["version"]) for h in heard]
    assert got == [(r.model, str(r.version)) for r in records]  # MLflow sends text
    assert {h["type"] for h in heard} == {"model_version.created"}
