"""Every ``models:/`` URI form resolves to the right version; bad URIs fail with the right code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import minireg
from minireg.domain.uris import ACCEPTED_FORMS
from tests.conftest import run_cli, tree_digest


def _add(reg: minireg.Registry, model: str, n: int) -> int:
    path = reg.root.parent / f"{model}-{n}.bin"
    path.write_bytes(f"{model} weights {n}\n".encode())
    return reg.register(model, path, requirements=b"", actor="ds@corp").version


@pytest.fixture
def zoo(reg: minireg.Registry) -> minireg.Registry:
    """Three models; churn has 6 versions over every stage, two aliases, a moved alias."""
    # Two versions share Production on purpose (a stage resolves to its highest), so the
    # stage is not exclusive here as it is by default.
    toml = reg.root / "minireg.toml"
    toml.write_text(toml.read_text().replace('exclusive = ["Production"]', "exclusive = []"))
    reg = minireg.open_registry(reg.root)
    for n in range(1, 7):
        _add(reg, "churn", n)
    for n in range(1, 4):
        _add(reg, "fraud", n)
    _add(reg, "ranker", 1)
    for version, stage in (
        (1, "Production"),
        (2, "Staging"),
        (3, "Production"),
        (4, "Staging"),
        (5, "Archived"),
    ):
        reg.promote("churn", version, stage, actor="ci")
    reg.promote("fraud", 1, "Production", actor="ci")
    reg.promote("fraud", 3, "Staging", actor="ci")
    reg.set_alias("churn", "champion", 3, actor="ci")
    reg.set_alias("churn", "challenger", 2, actor="ci")
    reg.set_alias("churn", "challenger", 4, actor="ci")
    reg.set_alias("fraud", "champion", 2, actor="ci")
    return reg


@pytest.mark.parametrize(
    ("uri", "model", "version"),
    [
        # A stage gives the highest version in it (3 over 1), case-insensitively.
        ("models:/churn/Production", "churn", 3),
        ("models:/churn/production", "churn", 3),
        ("models:/churn/PRODUCTION", "churn", 3),
        ("models:/churn/Staging", "churn", 4),
        ("models:/churn/staging", "churn", 4),
        ("models:/churn/Archived", "churn", 5),
        ("models:/churn/None", "churn", 6),
        ("models:/fraud/Production", "fraud", 1),
        ("models:/fraud/Staging", "fraud", 3),
        ("models:/churn/1", "churn", 1),
        ("models:/churn/5", "churn", 5),
        ("models:/fraud/2", "fraud", 2),
        ("models:/churn@champion", "churn", 3),
        ("models:/churn@challenger", "churn", 4),
        ("models:/fraud@champion", "fraud", 2),
        ("models:/churn/latest", "churn", 6),
        ("models:/fraud/latest", "fraud", 3),
        ("models:/ranker/latest", "ranker", 1),
        ("models:/ranker/None", "ranker", 1),
    ],
)
def test_every_uri_form_resolves(zoo: minireg.Registry, uri: str, model: str, version: int) -> None:
    found = minireg.resolve(uri, zoo)
    assert (found.model, found.version) == (model, version)
    assert found.record == zoo.get(model, version)
    assert found.path == zoo.artifact_path(found.record)
    assert found.path.read_bytes() == f"{model} weights {version}\n".encode()
    # The CLI agrees, with a URI as the one argument.
    res = run_cli("path", uri, "--registry", str(zoo.root))
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == str(found.path)


def test_resolve_finds_the_registry_from_the_current_folder(zoo: minireg.Registry) -> None:
    assert minireg.resolve("models:/churn/Production").version == 3


def test_show_accepts_a_uri(zoo: minireg.Registry) -> None:
    res = run_cli("show", "models:/churn@challenger", "--json", "--registry", str(zoo.root))
    assert res.exit_code == 0, res.stderr
    assert '"version": 4' in res.stdout


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models:/churn",
        "models:/churn/",
        "models:/churn/Production/extra",
        "models:/churn@",
        "models:/churn@a/b",
        "models:churn/1",
        "models:/churn/0",
    ],
)
def test_malformed_uri_exits_2_and_lists_the_forms(zoo: minireg.Registry, uri: str) -> None:
    before = tree_digest(zoo.root)
    res = run_cli("path", uri, "--registry", str(zoo.root))
    assert res.exit_code == 2, res.stderr
    assert res.stderr.startswith("error: ")
    if uri != "models:/churn/0":
        assert ACCEPTED_FORMS in res.stderr
    with pytest.raises(minireg.InvalidInput):
        minireg.resolve(uri, zoo)
    assert tree_digest(zoo.root) == before


def test_a_uri_with_the_wrong_scheme_exits_2(zoo: minireg.Registry) -> None:
    res = run_cli("path", "model:/churn/1", "--registry", str(zoo.root))
    assert res.exit_code == 2, res.stderr
    with pytest.raises(minireg.InvalidInput, match="models:/NAME/STAGE"):
        minireg.resolve("model:/churn/1", zoo)


@pytest.mark.parametrize(
    ("uri", "sentence"),
    [
        ("models:/nope/Production", "Model 'nope' is not in the registry"),
        ("models:/nope/latest", "Model 'nope' is not in the registry"),
        ("models:/churn/Canary", "Stage 'Canary' does not exist"),
        ("models:/ranker/Production", "No version of ranker is in Production."),
        ("models:/churn@nobody", "Model churn has no alias @nobody."),
        ("models:/churn/99", "Model churn has no version 99; its latest version is 6."),
    ],
)
def test_unknown_model_stage_alias_or_version_exits_3(
    zoo: minireg.Registry, uri: str, sentence: str
) -> None:
    before = tree_digest(zoo.root)
    res = run_cli("path", uri, "--registry", str(zoo.root))
    assert res.exit_code == 3, res.stderr
    assert sentence in res.stderr
    with pytest.raises(minireg.NotFound):
        minireg.resolve(uri, zoo)
    assert tree_digest(zoo.root) == before


def test_a_registry_object_sees_writes_made_after_it_cached(zoo: minireg.Registry) -> None:
    """resolve() caches the folded state; any write, from any process, must invalidate it."""
    reader = minireg.open_registry(zoo.root)
    assert minireg.resolve("models:/churn/Production", reader).version == 3
    writer = minireg.open_registry(zoo.root)
    writer.promote("churn", 6, "Production", actor="ci")
    assert minireg.resolve("models:/churn/Production", reader).version == 6
    writer.set_alias("churn", "champion", 6, actor="ci")
    assert minireg.resolve("models:/churn@champion", reader).version == 6
    assert reader.resolve("models:/churn/Production").stage == "Production"


def test_a_replaced_events_file_is_noticed(zoo: minireg.Registry) -> None:
    """A git checkout replaces events.jsonl (new inode), possibly with the same size and mtime."""
    events = zoo.root / "events.jsonl"
    before = events.read_bytes()
    stat = events.stat()
    assert minireg.resolve("models:/churn/Production", zoo).version == 3
    zoo.promote("churn", 6, "Production", actor="ci")
    assert minireg.resolve("models:/churn/Production", zoo).version == 6
    # Put the old trail back under a new inode, with the old timestamps.
    tmp = events.with_name("events.restored")
    tmp.write_bytes(before)
    os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(tmp, events)
    assert minireg.resolve("models:/churn/Production", zoo).version == 3


def test_path_of_a_folder_artifact(reg: minireg.Registry, repo: Path) -> None:
    folder = repo / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01weights")
    (folder / "sub" / "config.json").write_text('{"layers": 3}')
    reg.register("bundle", folder, requirements=b"", actor="ds@corp")
    found = minireg.resolve("models:/bundle/latest", reg)
    assert found.record.is_dir
    assert (found.path / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert (found.path / "sub" / "config.json").read_text() == '{"layers": 3}'
