"""The hot-path table agrees with the Typer app, parses only plain forms, and answers as Typer.

The contract is checked through Typer's public API: ``typer.main.get_command(app)``
gives the click command tree, whose parameters (names, flags, required,
multiple, is_flag) must be the table's, parameter by parameter.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import typing
from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.cli.table import FLAG, PATH, STR, TABLE, parse
from tests.conftest import run_cli, run_proc
from tests.support.cli import click_command, declarations

HOT = {
    "path",
    "show",
    "list",
    "register",
    "promote",
    "transition",
    "alias set",
    "alias delete",
    "describe",
    "tag",
    "history",
    "verify",
}
"""The commands scripts call in loops: each must be in the table."""


def kind_of(annotation: Any) -> tuple[str, bool]:
    """(STR | PATH | FLAG, repeatable) for a declared Python type."""
    if typing.get_origin(annotation) is typing.Union:
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        (inner,) = typing.get_args(annotation)
        return kind_of(inner)[0], True
    return {str: STR, Path: PATH, bool: FLAG}[annotation], False


def test_every_hot_command_is_in_the_table() -> None:
    assert set(TABLE) >= HOT


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_table_agrees_with_the_typer_app(name: str) -> None:
    entry = TABLE[name]
    callback = dict(declarations())[name]
    assert callback.__minireg_body__ is entry.body, "Typer and the table run the same body"
    hints = typing.get_type_hints(inspect.unwrap(callback))
    clicked = {p.name: p for p in click_command(name).params if p.name != "help"}
    table = {p.name: p for p in entry.params}
    assert list(clicked) == list(table), "the same parameters, in the same order"
    for param_name, param in table.items():
        theirs = clicked[param_name]
        where = f"{name} {param_name}"
        assert (theirs.param_type_name == "argument") == (not param.flags), where
        if param.flags:
            assert set(theirs.opts) == set(param.flags), where
            assert set(theirs.secondary_opts) == set(param.off), where
            assert theirs.is_flag == (param.kind == FLAG), where
        assert theirs.required == param.required, where
        assert theirs.multiple == param.multiple, where
        assert theirs.nargs == 1, where
        # The table cannot honour what it does not know about.
        assert theirs.envvar is None and theirs.callback is None and not theirs.is_eager, where
        assert kind_of(hints[param_name]) == (param.kind, param.multiple), where


@pytest.mark.parametrize("name", sorted(dict(declarations())))
def test_every_body_takes_the_declared_parameters_with_typers_defaults(name: str) -> None:
    callback = dict(declarations())[name]
    declared = inspect.signature(inspect.unwrap(callback)).parameters
    body = inspect.signature(callback.__minireg_body__).parameters
    assert list(body) == list(declared)
    for param_name, param in declared.items():
        # The fast path passes only what was given: the body's defaults must be Typer's.
        assert body[param_name].default == param.default, f"{name} {param_name}"
    clicked = {p.name: p for p in click_command(name).params if p.name != "help"}
    assert list(clicked) == list(declared)
    for param_name, param in clicked.items():
        if not param.required:
            assert param.default == body[param_name].default, f"{name} {param_name}"
        assert param.required == (body[param_name].default is inspect.Parameter.empty)


def parsed(argv: list[str]) -> tuple[str, dict[str, object]] | None:
    found = parse(argv)
    return None if found is None else (found[0].__name__, found[1])


def test_parse_takes_the_plain_forms() -> None:
    assert parsed(["path", "churn", "3"]) == ("path", {"target": "churn", "version": "3"})
    assert parsed(["path", "models:/churn/Production", "-r", "reg"]) == (
        "path",
        {"target": "models:/churn/Production", "registry": Path("reg")},
    )
    assert parsed(["list", "--json", "--registry=reg"]) == (
        "list_",
        {"json_out": True, "registry": Path("reg")},
    )
    assert parsed(["list"]) == ("list_", {})
    assert parsed(
        ["register", "m", "a.pkl", "-m", "x=1", "--metric=y=2", "--json", "--no-commit", "-d", ""]
    ) == (
        "register",
        {
            "model": "m",
            "artifact": Path("a.pkl"),
            "metric": ["x=1", "y=2"],
            "json_out": True,
            "commit": False,
            "description": "",
        },
    )
    assert parsed(
        ["promote", "churn", "7", "--to", "Production", "--archive-existing", "--reason=-x"]
    ) == (
        "promote",
        {
            "model": "churn",
            "version": "7",
            "to": "Production",
            "archive_existing": True,
            "reason": "-x",
        },
    )
    assert parsed(["transition", "--to", "Staging", "churn", "7", "--commit"]) == (
        "promote",
        {"to": "Staging", "model": "churn", "version": "7", "commit": True},
    )
    assert parsed(["alias", "set", "churn", "champion", "7"]) == (
        "alias_set",
        {"model": "churn", "alias": "champion", "version": "7"},
    )
    assert parsed(["alias", "delete", "churn", "@champion", "--no-commit"]) == (
        "alias_delete",
        {"model": "churn", "alias": "@champion", "commit": False},
    )
    assert parsed(["describe", "churn", "7", "Retrained on March data"]) == (
        "describe",
        {"model": "churn", "version": "7", "text": "Retrained on March data"},
    )
    assert parsed(["tag", "churn", "7", "team=growth"]) == (
        "tag",
        {"model": "churn", "version": "7", "pair": "team=growth"},
    )
    assert parsed(["history", "churn", "--version", "7", "--since", "2024-03-01"]) == (
        "history",
        {"model": "churn", "version": "7", "since": "2024-03-01"},
    )
    assert parsed(["verify", "--against-git", "--json"]) == (
        "verify",
        {"against_git": True, "json_out": True},
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["convert", "--to", "xlsx"],
        ["gc", "--dry-run"],
        ["export", "csv", "out.csv"],
        ["alias"],
        ["alias", "rename", "churn", "a", "b"],
        ["--traceback", "list"],
        ["--version"],
        ["path"],
        ["path", "--help"],
        ["path", "-h"],
        ["promote", "--help"],
        ["promote", "churn", "1"],  # --to is required
        ["promote", "churn", "1", "--to", "Staging", "--dry-run", "true"],
        ["promote", "churn", "1", "--to"],
        ["promote", "churn", "1", "--to", "Staging", "--model-typo"],
        ["path", "a", "b", "c"],
        ["path", "a", "--json"],
        ["list", "a", "b"],
        ["list", "--json", "--json"],
        ["list", "-r", "a", "-r", "b"],
        ["list", "-r"],
        ["list", "-r", "--json"],
        ["list", "--registry="],
        ["list", "--json=yes"],
        ["list", "--"],
        ["list", "-"],
        ["path", "-1"],
        ["register", "m", "a", "--batch"],
        ["register", "m", "a", "--metric", "-1"],
        ["register", "m", "a", "-mx=1"],
        ["register", "m", "a", "--commit", "--no-commit"],
        ["describe", "churn", "7", "-", "--no-commit"],
    ],
    ids=lambda a: " ".join(a) or "(nothing)",
)
def test_parse_leaves_everything_else_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


@pytest.fixture
def populated(reg: minireg.Registry, artifact: Path, repo: Path) -> minireg.Registry:
    reg.register("churn", artifact, metrics={"auc_roc": 0.9}, requirements=b"x==1\n", actor="me")
    reg.register("churn", artifact, metrics={"auc_roc": 0.95}, requirements=b"x==1\n", actor="me")
    reg.promote("churn", 2, "Staging", actor="me")
    reg.set_alias("churn", "champion", 2, actor="me")
    return reg


def scrub(text: str, root: Path) -> str:
    """Output without the registry's path, and without the times and hashes of new events."""
    text = text.replace(str(root), "<registry>")
    return re.sub(r'"(time|prev|hash)": "[^"]*"', r'"\1": "…"', text)


def same_result(cwd: Path, fast_root: Path, typer_root: Path, args: list[str]) -> None:
    """The fast path (a real `python -m minireg`) and Typer (CliRunner) give the same answer."""
    assert parse(args) is not None, "this form must take the fast path"
    fast = run_proc(*args, "--registry", str(fast_root), cwd=cwd)
    slow = run_cli(*args, "--registry", str(typer_root))
    assert (fast.returncode, scrub(fast.stdout, fast_root), scrub(fast.stderr, fast_root)) == (
        slow.exit_code,
        scrub(slow.stdout, typer_root),
        scrub(slow.stderr, typer_root),
    )


@pytest.mark.parametrize(
    "args",
    [
        ["path", "churn", "2"],
        ["path", "models:/churn/Staging"],
        ["path", "churn", "9"],
        ["path", "fraud", "1"],
        ["path", "churn"],
        ["path", "models:/churn"],
        ["show", "churn", "1"],
        ["show", "models:/churn@champion", "--json"],
        ["show", "churn", "--at", "2999-01-01"],
        ["show", "churn", "0"],
        ["list"],
        ["list", "churn", "--json"],
        ["list", "fraud"],
        ["history", "churn", "--version", "zero"],
        ["history", "fraud"],
        ["verify"],
        ["verify", "--json"],
        ["diff", "churn", "1", "2"],
    ],
    ids=lambda a: " ".join(a),
)
def test_fast_reads_equal_typer_reads(
    populated: minireg.Registry, repo: Path, args: list[str]
) -> None:
    same_result(repo, populated.root, populated.root, args)


def without_time(event: dict[str, Any]) -> dict[str, Any]:
    """An event without its time and the hashes that depend on it."""
    return {k: v for k, v in event.items() if k not in ("time", "hash", "prev")}


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "churn", "1", "--to", "Staging"],
        ["transition", "churn", "2", "--to", "Production", "--archive-existing"],
        ["promote", "churn", "2", "--to", "Staging"],
        ["promote", "churn", "1", "--to", "Production", "--dry-run"],
        ["promote", "churn", "1", "--to", "Staging", "--json", "--no-commit"],
        ["promote", "churn", "1", "--to", "Nowhere"],
        ["promote", "churn", "1", "--to", "Staging", "--approver", "a\nb"],
        ["alias", "set", "churn", "challenger", "1"],
        ["alias", "set", "churn", "@champion", "1"],
        ["alias", "set", "churn", "latest", "1"],
        ["alias", "delete", "churn", "champion"],
        ["alias", "delete", "churn", "nobody"],
        ["describe", "churn", "1", "Retrained on March data"],
        ["tag", "churn", "1", "team=growth"],
        ["tag", "churn", "1", "no-equals-sign"],
        ["rebuild"],
    ],
    ids=lambda a: " ".join(a),
)
def test_fast_writes_equal_typer_writes(
    populated: minireg.Registry, repo: Path, args: list[str]
) -> None:
    twin = repo / "twin"
    shutil.copytree(populated.root, twin)
    same_result(repo, populated.root, twin, args)
    fast_events = [without_time(e.to_dict()) for e in populated.events()]
    typer_events = [without_time(e.to_dict()) for e in minireg.open_registry(twin).events()]
    assert fast_events == typer_events


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "auc_roc=0.9", "--metric=f1=0.5", "-p", "C=1", "-t", "team=growth", "-d", "x"],
        ["--metric", "auc_roc=high"],
        ["--flavor", "onnx", "--description", "an onnx file"],
        ["--training-date", "yesterday"],
        ["--json"],
    ],
    ids=["options", "bad metric", "flavor", "bad date", "json"],
)
def test_fast_register_equals_typer_register(repo: Path, artifact: Path, args: list[str]) -> None:
    roots = []
    for name in ("fast", "typer"):
        reg = minireg.init_registry(repo / name)
        reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
        roots.append(reg.root)
    common = ["register", "churn", "model.pkl", "--requirements", "train.py", *args]
    fast = run_proc(*common, "--registry", "fast", cwd=repo)
    slow = run_cli(*common, "--registry", "typer")
    strip = ("created_at",)
    if "--json" in args:
        a, b = json.loads(fast.stdout), json.loads(slow.stdout)
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }
    else:
        assert fast.stdout == slow.stdout
    assert (fast.returncode, fast.stderr) == (slow.exit_code, slow.stderr)
    x, y = (minireg.open_registry(r).versions() for r in roots)
    assert [{k: v for k, v in r.to_dict().items() if k not in strip} for r in x] == [
        {k: v for k, v in r.to_dict().items() if k not in strip} for r in y
    ]
