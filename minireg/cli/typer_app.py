"""The Typer app: every command's parameters and help, for ``--help`` and every unusual form.

A command here is a declaration only: its signature (parameters, help text)
and its docstring (the command's help, ending with an example). Its body is
the plain function of the noun module it names (:mod:`minireg.cli.versions`,
``stages``, ``metadata``, ``audit``, ``git``, ``files``), run through the one
error funnel (:func:`minireg.cli.errors.run`), the same function the hot-path
table calls. ``tests/test_cli_table.py`` checks that the table and these
declarations agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from minireg._version import __version__
from minireg.cli import audit, errors, files, git, metadata, stages, versions

Body = Callable[..., None]

app = typer.Typer(
    name="minireg",
    help="A model registry that lives in your git repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags show as flags (Rich's help gives each one a `<bool>` value column).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
alias_app = typer.Typer(
    help="Set or delete aliases (@champion), as in MLflow.", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")
export_app = typer.Typer(
    help="Export the registry: to MLflow, or as a spreadsheet.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


def command(
    group: typer.Typer, body: Body, name: str, **settings: Any
) -> Callable[[Callable[..., None]], Body]:
    """Add the decorated declaration to ``group`` as command ``name``, running ``body``.

    The declaration's own body is never run: Typer parses its parameters and
    hands them, as keywords, to ``body`` through the error funnel; a non-zero
    exit code becomes ``typer.Exit``.
    """

    def declare(declaration: Callable[..., None]) -> Body:
        @functools.wraps(declaration)
        def funnelled(**kwargs: Any) -> None:
            code = errors.run(body, kwargs)
            if code:
                raise typer.Exit(code)

        funnelled.__minireg_body__ = body  # type: ignore[attr-defined]
        group.command(name, **settings)(funnelled)
        return funnelled

    return declare


def run(argv: list[str] | None) -> int:
    """Let Typer parse ``argv`` (None: ``sys.argv``) and run the command; its exit code."""
    try:
        app(args=argv, prog_name="minireg")
    except SystemExit as exc:  # click ends every run, success included, with sys.exit(code)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    return 0


def _version(value: bool) -> None:
    if value:
        print(f"minireg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the full traceback of an unexpected error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A model registry that lives in your git repository."""
    errors.show_tracebacks(traceback)


# -- shared parameters ----------------------------------------------------------

RegistryOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        "-r",
        help="Registry folder (default: $MINIREG_REGISTRY, else registry/ at the git root "
        "or the nearest parent that has one).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON for scripts.")]
CommitOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--commit/--no-commit",
        help="Make one git commit of exactly the registry files this command changed "
        "(default: `commit` in minireg.toml). Refused if other changes are staged; never pushes.",
        show_default=False,
    ),
]
ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name.")]
VersionArg = Annotated[str, typer.Argument(metavar="VERSION", help="Version number.")]
TargetArg = Annotated[
    str, typer.Argument(metavar="MODEL|URI", help="MODEL, or a models:/ URI.", show_default=False)
]
TargetVersionArg = Annotated[
    Optional[str],
    typer.Argument(metavar="VERSION", help="Version number (not with a URI).", show_default=False),
]


# -- versions -------------------------------------------------------------------


@command(app, versions.init, "init")
def init(registry: RegistryOpt = None) -> None:
    """Create a registry folder (default: registry/ at the git root).

    On an existing registry it changes nothing and says so.

    Example: minireg init --registry registry
    """


@command(app, versions.register, "register")
def register(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="Model name, e.g. churn_predictor.")
    ],
    artifact: Annotated[
        Path, typer.Argument(metavar="ARTIFACT", help="The model file or folder to register.")
    ],
    metric: Annotated[
        Optional[list[str]],
        typer.Option("--metric", "-m", help="A metric as name=number (repeatable)."),
    ] = None,
    metrics: Annotated[
        Optional[Path], typer.Option("--metrics", help="A JSON file of metric name: number.")
    ] = None,
    param: Annotated[
        Optional[list[str]],
        typer.Option("--param", "-p", help="A param as name=value (repeatable)."),
    ] = None,
    params: Annotated[
        Optional[Path], typer.Option("--params", help="A JSON file of param name: value.")
    ] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="A tag as key=value (repeatable).")
    ] = None,
    data: Annotated[
        Optional[Path],
        typer.Option("--data", help="Training data file or folder; its sha256 is recorded."),
    ] = None,
    training_date: Annotated[
        Optional[str],
        typer.Option(
            "--training-date", help="ISO date or time of training (default: the artifact's mtime)."
        ),
    ] = None,
    description: Annotated[
        str, typer.Option("--description", "-d", help="One line about this version.")
    ] = "",
    requirements: Annotated[
        Optional[Path],
        typer.Option(
            "--requirements", help="A requirements file (default: this environment's packages)."
        ),
    ] = None,
    flavor: Annotated[
        Optional[str],
        typer.Option(
            "--flavor", help="joblib, pickle, skops, onnx, file or dir (default: detected)."
        ),
    ] = None,
    code_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--code-dir", help="Folder whose git commit is recorded (default: the current one)."
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Register a new version of MODEL from ARTIFACT and print its version number.

    Example: minireg register churn model.joblib --metrics metrics.json --data data/train.csv
    """


@command(app, versions.list_, "list")
def list_(
    model: Annotated[
        Optional[str],
        typer.Argument(metavar="MODEL", help="Only this model's versions.", show_default=False),
    ] = None,
    where: Annotated[
        Optional[str],
        typer.Option(
            "--where",
            help="Keep rows matching a pandas expression, e.g. "
            "\"metric.auc_roc > 0.9 and stage == 'Production'\".",
        ),
    ] = None,
    sort: Annotated[
        Optional[str],
        typer.Option("--sort", help="Sort by columns, comma-separated; a leading - sorts down."),
    ] = None,
    columns: Annotated[
        Optional[str],
        typer.Option("--columns", help="Show these columns, comma-separated (ledger names)."),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List model versions: model, version, stage, created, git commit and metrics.

    --where, --sort and --columns query the ledger's columns with pandas.

    Example: minireg list --where "metric.auc_roc > 0.9 and stage == 'Production'"
    --sort -metric.auc_roc --columns model,version,metric.auc_roc
    """


@command(app, versions.show, "show")
def show(
    target: TargetArg,
    version: TargetVersionArg = None,
    at: Annotated[
        Optional[str],
        typer.Option(
            "--at", help="Show which version held each stage and alias at this ISO date/time."
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show every field of one version, or with --at what held each stage at a moment.

    Example: minireg show churn 3; minireg show models:/churn/Production;
    minireg show churn --at 2024-03-01
    """


@command(app, versions.path, "path")
def path(target: TargetArg, version: TargetVersionArg = None, registry: RegistryOpt = None) -> None:
    """Print the local path of a version's artifact, for shell scripts.

    Example: python serve.py --model "$(minireg path models:/churn/Production)"
    """


@command(app, versions.checkout, "checkout")
def checkout(
    uri: Annotated[
        str,
        typer.Argument(
            metavar="URI",
            help="A models:/ URI: models:/NAME/STAGE, /VERSION, @ALIAS or /latest.",
        ),
    ],
    dest: Annotated[
        Path,
        typer.Argument(
            metavar="DEST",
            help="Where to copy it: a file path, or a folder (a file goes inside it under "
            "its registered name; a folder artifact becomes this folder).",
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite files that are already there.")
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a version's artifact out as ordinary writable files, after checking its sha256.

    Example: minireg checkout models:/churn_predictor/Production build/
    """


# -- stages ---------------------------------------------------------------------


def _promote(
    model: ModelArg,
    version: VersionArg,
    to: Annotated[
        str, typer.Option("--to", help="Target stage (case-insensitive), e.g. Production.")
    ],
    approver: Annotated[str, typer.Option("--approver", help="Who approved this transition.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why, in one line.")] = "",
    archive_existing: Annotated[
        bool,
        typer.Option(
            "--archive-existing", help="Archive the versions that hold the target stage now."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would change and every check; write nothing."),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Move a version to a stage, if the stage's policies allow it.

    A dry run that would be refused exits 4, so CI can check before it asks.

    Example: minireg promote churn 7 --to Production --approver alice@corp
    --reason "AUC 0.91 vs 0.88" --archive-existing
    """


promote = command(app, stages.promote, "promote")(_promote)
transition = command(app, stages.promote, "transition", help="Same as promote (MLflow's word).")(
    _promote
)


# -- metadata -------------------------------------------------------------------


@command(alias_app, metadata.alias_set, "set")
def alias_set(
    model: ModelArg,
    alias: Annotated[
        str, typer.Argument(metavar="ALIAS", help="Alias name (letters, digits, _ and -).")
    ],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version the alias points to.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Point an alias at a version, moving it if another version had it.

    Example: minireg alias set churn champion 7
    """


@command(alias_app, metadata.alias_delete, "delete")
def alias_delete(
    model: ModelArg,
    alias: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias name.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Delete an alias.

    Example: minireg alias delete churn challenger
    """


@command(app, metadata.describe, "describe")
def describe(
    model: ModelArg,
    version: VersionArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The description, one line.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a version's description.

    Example: minireg describe churn 7 "Retrained on March data"
    """


@command(app, metadata.tag, "tag")
def tag(
    model: ModelArg,
    version: VersionArg,
    pair: Annotated[str, typer.Argument(metavar="KEY=VALUE", help="key=value to set.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a tag on a version.

    Example: minireg tag churn 7 team=growth
    """


# -- audit ----------------------------------------------------------------------


@command(app, audit.history, "history")
def history(
    model: Annotated[
        Optional[str],
        typer.Argument(metavar="MODEL", help="Only this model's events.", show_default=False),
    ] = None,
    version: Annotated[
        Optional[str], typer.Option("--version", help="Only this version's events.")
    ] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only events at or after this ISO date/time.")
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the audit trail: time, actor, action, version, from → to, approver, reason.

    Example: minireg history churn --since 2024-03-01
    """


@command(app, audit.verify, "verify")
def verify(
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    against_git: Annotated[
        bool,
        typer.Option(
            "--against-git",
            help="Also check that the audit head in the last minireg commit's trailer is in "
            "the events (catches events cut off the end).",
        ),
    ] = False,
) -> None:
    """Check the hash chain, the ledger against the events, every object and version numbers.

    Exits 0 when everything holds, 6 with every problem listed otherwise.

    Example: minireg verify
    """


@command(app, audit.rebuild, "rebuild")
def rebuild(registry: RegistryOpt = None, commit: CommitOpt = None) -> None:
    """Regenerate the ledger from the events (after a hand edit or a merge).

    Example: minireg rebuild
    """


@command(app, audit.diff, "diff")
def diff(
    model: ModelArg,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The first version.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The second version.")],
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare two versions: params, metrics with deltas, data, git commit, requirements, artifact.

    Example: minireg diff churn 6 7
    """


# -- git ------------------------------------------------------------------------


@command(app, git.install_merge_driver, "install-merge-driver")
def install_merge_driver(registry: RegistryOpt = None) -> None:
    """Install the minireg merge driver in this clone's git config (.git/config).

    git does not version that file: every clone and CI runner runs this once.
    Adds the driver's lines to the registry's .gitattributes if they are missing.

    Example: minireg install-merge-driver
    """


@command(app, git.merge_driver, "merge-driver", hidden=True)
def merge_driver(
    base: Annotated[
        Path, typer.Argument(metavar="BASE", help="The common ancestor's version (git's %O).")
    ],
    ours: Annotated[
        Path, typer.Argument(metavar="OURS", help="Our version; receives the result (git's %A).")
    ],
    theirs: Annotated[
        Path, typer.Argument(metavar="THEIRS", help="The other branch's version (git's %B).")
    ],
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="The file's path in the repository (git's %P).")
    ],
) -> None:
    """Merge a registry file for git; exits 1 (a conflict for git) when it cannot.

    Installed by `minireg install-merge-driver`; git runs it, people do not.

    Example: git config merge.minireg.driver "python -m minireg merge-driver %O %A %B %P"
    """


@command(app, git.gc, "gc")
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the unreferenced objects; remove nothing.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            help="Keep unreferenced objects younger than this many seconds (a registration "
            "in flight stores its objects before it takes the lock).",
        ),
    ] = 3600.0,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Remove objects that no version references (artifacts, folder files, requirements).

    Example: minireg gc --dry-run
    """


# -- files ----------------------------------------------------------------------


@command(app, files.convert, "convert")
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


@command(export_app, files.export_mlflow, "mlflow")
def export_mlflow(
    tracking_uri: Annotated[
        str,
        typer.Option(
            "--tracking-uri",
            help="MLflow server (http://host:5000) or database (sqlite:///mlflow.db). "
            "A user:password@ in it is used as credentials and never printed.",
            show_default=False,
        ),
    ],
    model: Annotated[
        Optional[list[str]],
        typer.Option("--model", "-m", help="Export only this model (repeatable; default: all)."),
    ] = None,
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment that receives the runs.")
    ] = "minireg-export",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (create, update, unchanged); change nothing."
        ),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recreate every model, version, stage, alias, metric, param and audit entry in MLflow.

    Versions already exported are found by their minireg tags and not created
    again, so re-running after new registrations adds only those, and re-running
    after a failure resumes. Needs the extra: pip install 'minireg[mlflow]'.

    Example: minireg export mlflow --tracking-uri http://mlflow:5000 --model churn_predictor
    """


@command(export_app, files.export_xlsx, "xlsx")
def export_xlsx(
    out: Annotated[
        Path, typer.Argument(metavar="OUT", help="The workbook to write, e.g. ledger.xlsx.")
    ],
    registry: RegistryOpt = None,
) -> None:
    """Write the ledger as an Excel workbook (ledger and audit sheets), for a manager.

    Text is never stored as a formula.

    Example: minireg export xlsx ~/Desktop/models.xlsx
    """


@command(export_app, files.export_csv, "csv")
def export_csv(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="The CSV file to write.")],
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
