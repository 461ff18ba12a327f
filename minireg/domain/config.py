"""Settings from ``minireg.toml``, checked once: ledger format, stages, transitions, policies."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from minireg.domain.hooks import Hooks
from minireg.domain.names import check_stage_name
from minireg.domain.remotes import check_remote_url
from minireg.errors import InvalidInput

DEFAULT_STAGES = ("None", "Staging", "Production", "Archived")


@dataclass(frozen=True)
class Gate:
    """A metric gate such as ``auc_roc >= 0.85`` or ``auc_roc >= current.auc_roc - 0.005``."""

    text: str
    metric: str
    op: str
    # Either an absolute threshold, or an offset from the current holder's metric.
    value: float
    against_current: bool = False
    current_metric: str = ""


@dataclass(frozen=True)
class Policy:
    """The checks a promotion into one stage must pass."""

    require_approver: bool = False
    require_reason: bool = False
    four_eyes: bool = False
    approvers: tuple[str, ...] = ()
    require_clean_git: bool = False
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True)
class Config:
    """A registry's settings; build with :func:`parse_config`."""

    format: str = "csv"
    lock_timeout: float = 30.0
    commit: bool = False
    allow_pickle: bool = True
    skops_trusted: tuple[str, ...] = ()
    stages: tuple[str, ...] = DEFAULT_STAGES
    initial_stage: str = "None"
    archive_stage: str = "Archived"
    exclusive: frozenset[str] = frozenset()
    # target stage -> stages it may be entered from; a stage not listed accepts any source.
    transitions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    # [git] main_branch: the branch whose version numbers are published; "" means the
    # remote's default branch (origin/HEAD) if known, else "main".
    main_branch: str = ""
    # [objects] remote: an fsspec URL (s3://bucket/prefix, file:///shared); "" keeps the
    # objects in git. Never holds credentials (checked by check_remote_url).
    remote: str = ""
    # [[hooks.after]] and [[hooks.before_transition]] (see minireg.domain.hooks).
    hooks: Hooks = field(default_factory=Hooks)

    def stage(self, name: str) -> str | None:
        """Return the configured spelling of stage ``name`` (case-insensitive), or None."""
        wanted = name.casefold()
        for stage in self.stages:
            if stage.casefold() == wanted:
                return stage
        return None

    def policy(self, stage: str) -> Policy:
        """Return the policy for promotions into ``stage`` (an empty one if none is set)."""
        return self.policies.get(stage, Policy())


_OPS = (">=", "<=", "==", ">", "<")


def parse_gate(text: str) -> Gate:
    """Parse ``metric OP number`` or ``metric OP current.metric [+|-] number``.

    Raises:
        InvalidInput: the text is not one of those forms.
    """
    bad = InvalidInput(
        f"Metric gate {text!r} is not valid; write 'auc_roc >= 0.85' or "
        "'auc_roc >= current.auc_roc - 0.005'."
    )
    for op in _OPS:
        if op in text:
            left, _, right = text.partition(op)
            break
    else:
        raise bad
    metric = left.strip()
    right = right.strip()
    if not metric or not right:
        raise bad
    if right.startswith("current."):
        rest = right[len("current.") :]
        offset = 0.0
        for sign in ("+", "-"):
            if sign in rest:
                name, _, number = rest.partition(sign)
                try:
                    offset = float(number.strip()) * (1 if sign == "+" else -1)
                except ValueError as exc:
                    raise bad from exc
                rest = name
                break
        current_metric = rest.strip()
        if not current_metric:
            raise bad
        return Gate(text, metric, op, offset, against_current=True, current_metric=current_metric)
    try:
        value = float(right)
    except ValueError as exc:
        raise bad from exc
    return Gate(text, metric, op, value)


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InvalidInput(f"minireg.toml: {where} must be a list of strings.")
    return tuple(raw)


def _flag(raw: dict[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        name = key if where == "top level" else f"{where}.{key}"
        raise InvalidInput(f"minireg.toml: {name} must be true or false.")
    return value


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise InvalidInput(f"minireg.toml: [{key}] must be a table.")
    return value


_STAGE_KEYS = ("names", "initial", "archive", "exclusive")
_POLICY_KEYS = {
    "require_approver",
    "require_reason",
    "four_eyes",
    "approvers",
    "require_clean_git",
    "gates",
}


def _stage_names(raw: dict[str, Any], stages_raw: dict[str, Any]) -> tuple[str, ...]:
    # A stage setting in the wrong place would be silently ignored: say where it belongs.
    misplaced = [key for key in _STAGE_KEYS if key in raw]
    if misplaced:
        raise InvalidInput(f"minireg.toml: {misplaced[0]} belongs under [stages].")
    unknown_stage_keys = sorted(set(stages_raw) - set(_STAGE_KEYS))
    if unknown_stage_keys:
        raise InvalidInput(
            f"minireg.toml: [stages] has unknown setting {unknown_stage_keys[0]!r}; "
            f"the settings are {', '.join(_STAGE_KEYS)}."
        )
    stages = _strings(stages_raw.get("names", list(DEFAULT_STAGES)), "stages.names")
    for name in stages:
        check_stage_name(name, "minireg.toml: ")
    if not stages:
        raise InvalidInput("minireg.toml: stages.names must list at least one stage.")
    if len({s.casefold() for s in stages}) != len(stages):
        raise InvalidInput("minireg.toml: stages.names lists a stage twice.")
    return stages


def _policy(body: object, where: str) -> Policy:
    if not isinstance(body, dict):
        raise InvalidInput(f"minireg.toml: [{where}] must be a table.")
    unknown = sorted(set(body) - _POLICY_KEYS)
    if unknown:
        raise InvalidInput(f"minireg.toml: [{where}] has unknown setting {unknown[0]!r}.")
    return Policy(
        require_approver=_flag(body, "require_approver", where),
        require_reason=_flag(body, "require_reason", where),
        four_eyes=_flag(body, "four_eyes", where),
        approvers=_strings(body.get("approvers", []), f"{where}.approvers"),
        require_clean_git=_flag(body, "require_clean_git", where),
        gates=tuple(parse_gate(g) for g in _strings(body.get("gates", []), f"{where}.gates")),
    )


def _top_level(raw: dict[str, Any]) -> dict[str, Any]:
    fmt = raw.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"minireg.toml: format must be 'csv' or 'xlsx', not {fmt!r}.")
    timeout = raw.get("lock_timeout", 30.0)
    if (
        not isinstance(timeout, (int, float))
        or isinstance(timeout, bool)
        or not math.isfinite(timeout)
        or timeout < 0
    ):
        raise InvalidInput("minireg.toml: lock_timeout must be a number of seconds.")
    return {
        "format": fmt,
        "lock_timeout": float(timeout),
        "commit": _flag(raw, "commit", "top level"),
        "allow_pickle": _flag(raw, "allow_pickle", "top level"),
        "skops_trusted": _strings(raw.get("skops_trusted", []), "skops_trusted"),
    }


def parse_config(raw: dict[str, Any]) -> Config:
    """Build a :class:`Config` from parsed TOML, checking every value.

    Raises:
        InvalidInput: a value has the wrong type or names an unknown stage.
    """
    top = _top_level(raw)
    stages_raw = _table(raw, "stages")
    stages = _stage_names(raw, stages_raw)
    base = Config(stages=stages)

    def known(name: str, where: str) -> str:
        stage = base.stage(name)
        if stage is None:
            raise InvalidInput(f"minireg.toml: {where} names unknown stage {name!r}.")
        return stage

    initial = known(str(stages_raw.get("initial", stages[0])), "stages.initial")
    default_archive = "Archived" if base.stage("Archived") else stages[-1]
    archive = known(str(stages_raw.get("archive", default_archive)), "stages.archive")
    exclusive = frozenset(
        known(s, "stages.exclusive")
        for s in _strings(stages_raw.get("exclusive", []), "stages.exclusive")
    )
    transitions = {
        known(target, "transitions"): tuple(
            known(s, f"transitions.{target}") for s in _strings(sources, f"transitions.{target}")
        )
        for target, sources in _table(raw, "transitions").items()
    }
    policies = {
        known(target, "policies"): _policy(body, f"policies.{target}")
        for target, body in _table(raw, "policies").items()
    }
    main_branch = _main_branch(raw)
    remote = _remote(raw)
    return Config(
        **top,
        stages=stages,
        initial_stage=initial,
        archive_stage=archive,
        exclusive=exclusive,
        transitions=transitions,
        policies=policies,
        main_branch=main_branch,
        remote=remote,
        hooks=_hooks(raw, known),
    )


def _remote(raw: dict[str, Any]) -> str:
    """``[objects] remote``: a checked URL, "" when not set."""
    if "remote" in raw:
        raise InvalidInput("minireg.toml: remote belongs under [objects].")
    table = _table(raw, "objects")
    unknown = sorted(set(table) - {"remote"})
    if unknown:
        raise InvalidInput(
            f"minireg.toml: [objects] has unknown setting {unknown[0]!r}; the setting is remote."
        )
    url = table.get("remote", "")
    if not isinstance(url, str):
        raise InvalidInput(
            'minireg.toml: objects.remote must be a URL such as "s3://bucket/models".'
        )
    return check_remote_url(url, "minireg.toml: ") if url.strip() else ""


def _hooks(raw: dict[str, Any], known: Callable[[str, str], str]) -> Hooks:
    """``[[hooks.after]]`` and ``[[hooks.before_transition]]`` (their parser loads only then)."""
    if "hooks" not in raw:
        return Hooks()
    from minireg.domain.hook_settings import parse_hooks

    return parse_hooks(raw["hooks"], known)


def _main_branch(raw: dict[str, Any]) -> str:
    """``[git] main_branch``: a branch name, "" when not set."""
    if "main_branch" in raw:
        raise InvalidInput("minireg.toml: main_branch belongs under [git].")
    git_raw = raw.get("git", {})
    if not isinstance(git_raw, dict):
        raise InvalidInput("minireg.toml: [git] must be a table.")
    unknown = sorted(set(git_raw) - {"main_branch"})
    if unknown:
        raise InvalidInput(
            f"minireg.toml: [git] has unknown setting {unknown[0]!r}; the setting is main_branch."
        )
    if "main_branch" not in git_raw:
        return ""
    name = git_raw["main_branch"]
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(("-", "refs/"))
        or any(c.isspace() or c in "~^:?*[\\" for c in name)
    ):
        raise InvalidInput('minireg.toml: git.main_branch must be a branch name such as "main".')
    return name


DEFAULT_TOML = """\
# minireg settings. Every key is optional; the values shown are the defaults.

# Ledger format: "csv" (ledger.csv) or "xlsx" (ledger.xlsx).
format = "csv"

# Seconds to wait for the registry lock before giving up (exit 5).
# The environment variable MINIREG_LOCK_TIMEOUT overrides it.
lock_timeout = 30

# Make one git commit per write command, as if --commit were given.
commit = false

# Allow load_model to unpickle joblib/pickle artifacts. false: only skops, ONNX and paths load.
allow_pickle = true

# Extra types skops may load (fully qualified names).
skops_trusted = []

[stages]
# Stages, as in MLflow. Matched case-insensitively, stored in this spelling.
names = ["None", "Staging", "Production", "Archived"]
# The stage a new version starts in, and where --archive-existing moves previous holders.
initial = "None"
archive = "Archived"
# Stages that at most one version may hold; promoting into one then needs --archive-existing,
# so models:/NAME/Production always names the version last promoted there (a rollback too).
# Without this key no stage is exclusive.
exclusive = ["Production"]

[transitions]
# target = [stages it may be entered from]; a stage not listed here accepts any source.
# Production = ["Staging"]

# Checks a promotion must pass, per target stage. For example:
# [policies.Production]
# require_approver = true
# require_reason = true
# four_eyes = true                 # the approver differs from the version's registrant
# approvers = ["alice@corp", "bob@corp"]
# require_clean_git = true         # the version was registered from a clean git tree
# gates = ["auc_roc >= 0.85", "auc_roc >= current.auc_roc - 0.005"]

[git]
# The branch whose version numbers are published: the merge driver never renumbers them
# (your unpublished registrations move instead). Default: the remote's default branch
# (origin/HEAD) if known, else "main".
# main_branch = "main"

# Keep artifacts in an object store instead of git (`minireg remote set URL` writes this;
# objects/ then becomes a local, git-ignored cache). Credentials never go here: they come
# from the backend's own sources (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...).
# [objects]
# remote = "s3://bucket/models"     # or gs://…, az://…, file:///mnt/shared/models
# Hooks (see the README's "Hooks"): after a recorded change, a command or a signed webhook;
# before a promotion, a command whose non-zero exit refuses it.
# [[hooks.after]]
# on = ["register", "transition"]          # register, transition, alias, describe, tag
# stages = ["Production"]                  # transitions into these stages only
# url = "https://hooks.example.com/minireg"
# secret_env = "MINIREG_WEBHOOK_SECRET"    # the variable that holds the signing secret
#
# [[hooks.before_transition]]
# stages = ["Production"]
# command = ["./checks/fairness.sh"]
"""
