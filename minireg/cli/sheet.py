"""The spreadsheet: convert, export xlsx, export csv, diff, and the list query rendering."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from minireg.cli import app
from minireg.cli.common import (
    CommitOpt,
    JsonOpt,
    RegistryOpt,
    committing,
    err,
    handle_errors,
    plural,
    print_json,
    print_table,
)
from minireg.cli.export import export_app
from minireg.registry import Registry, open_registry


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return value[:19].replace("T", " ")
    return str(value)


def show_query(
    reg: Registry,
    model: Optional[str],
    where: Optional[str],
    sort: Optional[str],
    columns: Optional[str],
    json_out: bool,
) -> None:
    """Render ``minireg list --where/--sort/--columns`` (pandas is loaded only here)."""
    from minireg.query import run_list

    headers, rows = run_list(reg, model, where, sort, columns, all_columns=json_out)
    if json_out:
        print_json(rows)
        return
    print_table(headers, [[_cell(row[h]) for h in headers] for row in rows])


@app.command()
@handle_errors
def convert(
    to: Annotated[str, typer.Option("--to", help="The ledger format to switch to: xlsx or csv.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Switch the registry's ledger between ledger.csv and ledger.xlsx.

    Writes the new ledger, sets format in minireg.toml (comments kept) and
    removes the old ledger, under the registry lock.

    Example: minireg convert --to xlsx
    """
    from minireg.spreadsheet import convert as convert_format

    reg = open_registry(registry)
    with committing(reg, commit):
        done = convert_format(reg, to)
    if done.old == done.new and not done.removed:
        err(f"The ledger is already {done.new}; rewrote it ({plural(done.versions, 'version')}).")
    else:
        gone = f"; removed {done.removed}" if done.removed else ""
        err(f"The ledger is now {done.new} ({plural(done.versions, 'version')}){gone}.")


@export_app.command("xlsx")
@handle_errors
def export_xlsx(
    out: Annotated[Path, typer.Argument(help="The workbook to write, e.g. ledger.xlsx.")],
    registry: RegistryOpt = None,
) -> None:
    """Write the ledger as an Excel workbook (ledger and audit sheets), for a manager.

    Text is never stored as a formula.

    Example: minireg export xlsx ~/Desktop/models.xlsx
    """
    from minireg.spreadsheet import export_xlsx as write_workbook

    count = write_workbook(open_registry(registry), out)
    err(f"Wrote {out} ({plural(count, 'version')}).")


@export_app.command("csv")
@handle_errors
def export_csv(
    out: Annotated[Path, typer.Argument(help="The CSV file to write.")],
    excel: Annotated[
        bool,
        typer.Option(
            "--excel",
            help="Make a copy safe to open in Excel: quote cells that start with = + - @, "
            "a tab or CR (OWASP), and add a UTF-8 byte order mark.",
        ),
    ] = False,
    registry: RegistryOpt = None,
) -> None:
    """Write the ledger as CSV; with --excel a copy that Excel cannot run as formulas.

    Example: minireg export csv --excel models.csv
    """
    from minireg.spreadsheet import export_csv as write_csv

    count = write_csv(open_registry(registry), out, excel)
    err(f"Wrote {out} ({plural(count, 'version')}{', safe for Excel' if excel else ''}).")


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.6g}"


@app.command()
@handle_errors
def diff(
    model: Annotated[str, typer.Argument(help="Model name.")],
    old: Annotated[str, typer.Argument(help="The first version.")],
    new: Annotated[str, typer.Argument(help="The second version.")],
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare two versions: params, metrics with deltas, data, git commit, requirements, artifact.

    Example: minireg diff churn 6 7
    """
    from minireg.diff import diff_versions

    result = diff_versions(open_registry(registry), model, old, new)
    if json_out:
        print_json(result.to_dict())
        return
    a, b = f"v{result.old.version}", f"v{result.new.version}"
    typer.echo(f"{model}: version {result.old.version} -> version {result.new.version}")
    typer.echo("")
    rows: list[list[Any]] = [
        [name, _text(x), _text(y), "*" if changed else ""]
        for name, x, y, changed in result.fields()
    ]
    print_table(["field", a, b, "changed"], rows)
    if result.metrics():
        typer.echo("")
        print_table(
            ["metric", a, b, "delta"],
            [[n, _cell(x), _cell(y), _signed(d)] for n, x, y, d in result.metrics()],
        )
    if result.params():
        typer.echo("")
        print_table(
            ["param", a, b, "changed"],
            [[n, _cell(x), _cell(y), "*" if c else ""] for n, x, y, c in result.params()],
        )
    typer.echo("")
    reqs = result.requirements
    if reqs is None:
        typer.echo(f"requirements: unknown ({result.requirements_note})")
    elif reqs.same:
        typer.echo("requirements: the same packages")
    else:
        lines = [
            *(f"  + {n}{s}" for n, s in sorted(reqs.added.items())),
            *(f"  - {n}{s}" for n, s in sorted(reqs.removed.items())),
            *(
                f"  ~ {n} {x or '(any)'} -> {y or '(any)'}"
                for n, (x, y) in sorted(reqs.changed.items())
            ),
        ]
        typer.echo(
            f"requirements: {len(reqs.added)} added, {len(reqs.removed)} removed, "
            f"{len(reqs.changed)} changed"
        )
        for line in lines:
            typer.echo(line)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _cell(value)
