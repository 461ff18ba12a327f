"""A remote for objects, end to end: the ledger in git, the bytes in S3 (moto) or a shared folder.

Every test runs twice (the ``remote`` fixture): against a real S3 API server on
127.0.0.1 through the real s3fs/botocore client, and against a ``file://`` folder.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

import minireg
from minireg.errors import IntegrityError, NotFound
from tests.conftest import git, run_proc, tree_digest
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.remotes import CREDENTIALS, Remote, free_port

MODEL = {"weights": [1, 2, 3]}


def pickled(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return path


def cached(registry: Path, digest: str) -> bool:
    return (registry / "objects" / "sha256" / digest[:2] / digest[2:]).is_file()


def where(remote: Remote, digest: str) -> str:
    return f"{remote.url}/sha256/{digest[:2]}/{digest[2:]}"


def test_a_fresh_clone_loads_by_stage_after_fetching_and_checking(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    src = pickled(tmp_path / "work" / "model.pkl", MODEL)
    with reg.committing(True) as commit:
        v = reg.register("churn", src, requirements=b"scikit-learn==1.5\n")
    # The commit holds the trail and the ledger; the bytes went to the remote, not to git.
    assert commit.paths == ["registry/events.jsonl", "registry/ledger.csv"]
    reg.promote("churn", v.version, "Production", archive_existing=True)
    # Uploaded before the version was recorded: the remote has the bytes under their name.
    assert remote.read(v.artifact_sha256) == src.read_bytes()
    assert remote.read(v.requirements_sha256) == b"scikit-learn==1.5\n"
    publish(repo)
    assert not [p for p in git(repo, "ls-files", "registry").split() if "/objects/" in p]

    clone = fresh_clone(repo, tmp_path)
    assert not cached(clone, v.artifact_sha256)
    out = run_proc("path", "models:/churn/Production", "--registry", str(clone))
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).read_bytes() == src.read_bytes()
    assert out.stderr == ""  # a pipe: no progress bar

    other = fresh_clone(repo, tmp_path)
    assert minireg.load_model("models:/churn/Production", other) == MODEL
    assert cached(other, v.artifact_sha256)
    handle = minireg.ModelHandle("models:/churn/Production", fresh_clone(repo, tmp_path))
    assert handle.get() == MODEL and handle.version == v.version
    report = minireg.open_registry(other).verify()
    assert report.ok, report.problems
    assert any("not in the local cache" in note for note in report.notes)


def test_a_corrupted_remote_object_is_refused_before_unpickling(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    v = reg.register("churn", pickled(tmp_path / "work" / "model.pkl", MODEL), requirements=b"")
    publish(repo)
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    evil = pickle.dumps(Evil())
    remote.write(v.artifact_sha256, evil)

    clone = fresh_clone(repo, tmp_path)
    with pytest.raises(IntegrityError) as caught:
        minireg.load_model("models:/churn/1", clone)
    assert where(remote, v.artifact_sha256) in caught.value.message
    assert not marker.exists()
    assert not cached(clone, v.artifact_sha256)
    assert not list((clone / "objects").rglob(".tmp-*"))
    out = run_proc("path", "models:/churn/1", "--registry", str(clone))
    assert out.returncode == 6, out.stderr
    assert where(remote, v.artifact_sha256) in out.stderr
    # The test can fail: those bytes do run code when unpickled.
    pickle.loads(evil)
    assert marker.exists()


def test_a_missing_remote_object_exits_3_naming_the_version_and_key(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    v = reg.register("churn", pickled(tmp_path / "work" / "model.pkl", MODEL), requirements=b"")
    publish(repo)
    remote.delete(v.artifact_sha256)
    clone = fresh_clone(repo, tmp_path)
    out = run_proc("path", "models:/churn/1", "--registry", str(clone))
    assert out.returncode == 3, out.stderr
    assert "churn version 1" in out.stderr
    assert where(remote, v.artifact_sha256) in out.stderr
    with pytest.raises(NotFound):
        minireg.load_model("models:/churn/1", clone)


def test_no_upload_then_status_then_push(repo: Path, remote: Remote, tmp_path: Path) -> None:
    remote_registry(repo, remote)
    registry = str(repo / "registry")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("numpy==2.0\n")
    first = pickled(tmp_path / "work" / "a.pkl", MODEL)
    second = pickled(tmp_path / "work" / "b.pkl", {"weights": [4]})
    out = run_proc("register", "churn", str(first), "--requirements", str(reqs), "-r", registry)
    assert out.returncode == 0, out.stderr
    out = run_proc(
        "register", "churn", str(second), "--requirements", str(reqs), "--no-upload",
        "--json", "-r", registry,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)  # a pipe: stdout holds the JSON alone
    assert "\r" not in out.stderr and "minireg push" in out.stderr
    late = record["artifact_sha256"]
    assert remote.read(late) is None

    status = json.loads(run_proc("status", "--json", "-r", registry).stdout)
    assert [(v["version"], v["local_only"]) for v in status["not_pushed"]] == [(2, [late])]
    assert status["pushed"] == 1 and status["missing"] == []
    table = run_proc("status", "-r", registry)
    assert "churn  2        None   not pushed: 1 object(s) only here" in table.stdout
    assert "1 version on" in table.stderr and "1 not pushed" in table.stderr
    publish(repo)

    clone = fresh_clone(repo, tmp_path)
    elsewhere = json.loads(run_proc("status", "--json", "-r", str(clone)).stdout)
    assert [(v["version"], v["missing"]) for v in elsewhere["missing"]] == [(2, [late])]
    assert run_proc("path", "models:/churn/2", "-r", str(clone)).returncode == 3
    out = run_proc("push", "-r", str(clone))
    assert out.returncode == 3 and "churn v2" in out.stderr

    pushed = run_proc("push", "--json", "-r", registry)
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["uploaded"] == [late]
    assert remote.read(late) == second.read_bytes()
    assert json.loads(run_proc("push", "--json", "-r", registry).stdout)["uploaded"] == []
    status = json.loads(run_proc("status", "--json", "-r", registry).stdout)
    assert status["not_pushed"] == [] and status["missing"] == [] and status["pushed"] == 2
    assert minireg.load_model("models:/churn/2", clone) == {"weights": [4]}


def test_pull_fetches_the_served_versions_or_the_ones_named(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    versions = [
        reg.register("churn", pickled(tmp_path / f"w{n}" / "m.pkl", {"n": n}), requirements=b"")
        for n in (1, 2, 3)
    ]
    reg.promote("churn", 2, "Production", archive_existing=True)
    reg.set_alias("churn", "challenger", 3)
    publish(repo)
    clone = fresh_clone(repo, tmp_path)
    out = run_proc("pull", "--json", "-r", str(clone))
    assert out.returncode == 0, out.stderr
    pulled = json.loads(out.stdout)
    assert [v["uri"] for v in pulled["versions"]] == ["models:/churn/2", "models:/churn/3"]
    # Version 2 brings the requirements all three share; version 3 only its artifact.
    assert [v["downloaded"] for v in pulled["versions"]] == [2, 1]
    assert [cached(clone, v.artifact_sha256) for v in versions] == [False, True, True]

    again = minireg.open_registry(clone).pull()
    assert again.fetched == 0
    named = minireg.open_registry(clone).pull(["models:/churn/1"])
    assert named.fetched == 1 and cached(clone, versions[0].artifact_sha256)


def test_a_folder_artifact_travels_file_by_file(repo: Path, remote: Remote, tmp_path: Path) -> None:
    reg = remote_registry(repo, remote)
    folder = tmp_path / "work" / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"layers": 3}')
    (folder / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 100)
    v = reg.register("net", folder, requirements=b"")
    manifest = reg.manifest(v)
    for entry in manifest:
        assert remote.read(entry["sha256"]) is not None
    assert remote.read(v.artifact_sha256) is not None
    publish(repo)

    clone = fresh_clone(repo, tmp_path)
    out = run_proc("path", "models:/net/1", "-r", str(clone))
    assert out.returncode == 0, out.stderr
    served = Path(out.stdout.strip())
    assert (served / "sub" / "weights.bin").read_bytes() == bytes(range(256)) * 100
    dest = tmp_path / "out"
    minireg.checkout("models:/net/1", dest, clone)
    assert (dest / "config.json").read_text() == '{"layers": 3}'

    other = fresh_clone(repo, tmp_path)  # nothing cached: verify and gc still work
    assert run_proc("verify", "-r", str(other)).returncode == 0
    assert run_proc("gc", "--dry-run", "-r", str(other)).returncode == 0


def test_log_model_uploads_before_it_records(repo: Path, remote: Remote) -> None:
    reg = remote_registry(repo, remote)
    v = minireg.log_model(MODEL, "logged", registry=reg, requirements=b"")
    assert remote.read(v.artifact_sha256) is not None
    offline = minireg.log_model({"other": 1}, "logged", registry=reg, upload=False)
    assert remote.read(offline.artifact_sha256) is None
    assert [(e.model, e.version) for e in reg.status().versions] == [("logged", 2)]


def test_show_downloads_nothing(repo: Path, remote: Remote, tmp_path: Path) -> None:
    reg = remote_registry(repo, remote)
    v = reg.register("churn", pickled(tmp_path / "work" / "m.pkl", MODEL), requirements=b"")
    publish(repo)
    clone = fresh_clone(repo, tmp_path)
    out = run_proc("show", "churn", "1", "--json", "-r", str(clone))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["path"].endswith(v.artifact_sha256[2:])
    assert not cached(clone, v.artifact_sha256)


def test_an_object_already_on_the_remote_is_not_sent_again(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    src = pickled(tmp_path / "work" / "m.pkl", MODEL)
    v = reg.register("churn", src, requirements=b"")
    same_size = bytes(len(src.read_bytes()))
    remote.write(v.artifact_sha256, same_size)
    reg.register("other", src, requirements=b"")
    assert remote.read(v.artifact_sha256) == same_size  # same name, same size: not re-sent


def test_an_unreachable_remote_records_nothing(
    repo: Path, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote_registry(repo, remote)
    registry = repo / "registry"
    if remote.kind == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    else:
        assert remote.folder is not None
        remote.folder.rename(remote.folder.with_name("moved"))
    src = pickled(tmp_path / "work" / "m.pkl", MODEL)
    events = (registry / "events.jsonl").read_bytes()
    out = run_proc("register", "churn", str(src), "--requirements", str(src), "-r", str(registry))
    assert out.returncode == 7, out.stderr
    assert remote.url in out.stderr and "nothing was recorded" in out.stderr
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in out.stderr
    assert (registry / "events.jsonl").read_bytes() == events
    offline = run_proc(
        "register", "churn", str(src), "--requirements", str(src), "--no-upload",
        "-r", str(registry),
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    assert run_proc("status", "-r", str(registry)).returncode == 7


def test_remote_set_commits_the_setting_and_show_reports_it(
    repo: Path, remote: Remote, reg: minireg.Registry
) -> None:
    registry = str(reg.root)
    shown = json.loads(run_proc("remote", "show", "--json", "-r", registry).stdout)
    assert shown["url"] is None and shown["objects_ignored_by_git"] is False
    refused = run_proc("push", "-r", registry)
    assert refused.returncode == 2 and "minireg remote set" in refused.stderr

    out = run_proc("remote", "set", remote.url, "--commit", "-r", registry)
    assert out.returncode == 0, out.stderr
    changed = git(repo, "show", "--name-only", "--format=%s", "HEAD").splitlines()
    assert changed[0] == f"minireg: keep the objects in {remote.url}"
    assert set(changed[2:]) == {"registry/.gitignore", "registry/minireg.toml"}
    shown = json.loads(run_proc("remote", "show", "--json", "-r", registry).stdout)
    assert shown["url"] == remote.url and shown["installed"] is True
    assert shown["objects_ignored_by_git"] is True
    assert minireg.open_registry(registry).config.remote == remote.url
    again = run_proc("remote", "set", remote.url, "--json", "-r", registry)
    assert json.loads(again.stdout)["changed"] is False


def test_a_remote_that_does_not_answer_is_not_set(
    repo: Path, remote: Remote, reg: minireg.Registry, tmp_path: Path
) -> None:
    before = tree_digest(reg.root)
    absent = (
        remote.url.replace(remote.bucket, remote.bucket + "-absent")
        if remote.kind == "s3"
        else f"file://{tmp_path / 'not-mounted'}"
    )
    out = run_proc("remote", "set", absent, "-r", str(reg.root))
    assert out.returncode == 7, out.stderr
    assert "minireg.toml was not changed" in out.stderr
    assert tree_digest(reg.root) == before


@pytest.mark.parametrize(
    "url",
    ["s3://AKIAEXAMPLE:SeCrEt123@bucket/models", "s3://bucket/models?secret=SeCrEt123"],
)
def test_credentials_in_the_url_are_refused_and_never_shown(
    repo: Path, reg: minireg.Registry, url: str
) -> None:
    before = tree_digest(reg.root)
    out = run_proc("remote", "set", url, "-r", str(reg.root))
    assert out.returncode == 2
    assert "credentials" in out.stderr and "SeCrEt123" not in out.stderr + out.stdout
    assert tree_digest(reg.root) == before
    # Written by hand, it stops every command the same way.
    toml = reg.root / "minireg.toml"
    toml.write_text(toml.read_text() + f'\n[objects]\nremote = "{url}"\n')
    out = run_proc("list", "-r", str(reg.root))
    assert out.returncode == 2 and "SeCrEt123" not in out.stderr and "credentials" in out.stderr


def test_a_backend_that_is_not_installed_names_the_install_command(
    repo: Path, reg: minireg.Registry
) -> None:
    if _installed("gcsfs"):
        pytest.skip("gcsfs is installed here")
    before = tree_digest(reg.root)
    out = run_proc("remote", "set", "gs://bucket/models", "-r", str(reg.root))
    assert out.returncode == 2
    assert "pip install 'minireg[gcs]'" in out.stderr
    assert tree_digest(reg.root) == before


def _installed(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


def test_init_ignores_objects_once_a_remote_is_configured(repo: Path, remote: Remote) -> None:
    minireg.init_registry(repo / "registry")
    toml = repo / "registry" / "minireg.toml"
    toml.write_text(toml.read_text() + f'\n[objects]\nremote = "{remote.url}"\n')
    out = run_proc("init", "-r", str(repo / "registry"))
    assert out.returncode == 0, out.stderr
    assert "/objects/" in (repo / "registry" / ".gitignore").read_text().splitlines()
    digest = hashlib.sha256(b"x").hexdigest()
    (repo / "registry" / "objects" / "sha256" / digest[:2]).mkdir(parents=True)
    (repo / "registry" / "objects" / "sha256" / digest[:2] / digest[2:]).write_bytes(b"x")
    assert "objects" not in git(repo, "status", "--porcelain", "--untracked-files=all")
