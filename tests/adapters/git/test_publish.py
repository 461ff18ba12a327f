"""Published version numbers never change: clones, a bare remote, push and pull --rebase.

Everything here runs real git and real ``python -m minireg`` processes (the merge
driver included) against a bare remote in a temp folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.chain import parse_events
from minireg.domain.config import parse_config
from minireg.domain.state import State, fold
from minireg.errors import InvalidInput
from tests.conftest import git, run_proc

# Pinned, so that a change of the defaults (an exclusive stage, a policy) does not
# change what these tests exercise.
SETTINGS = """\
format = "csv"

[stages]
names = ["None", "Staging", "Production", "Archived"]
exclusive = []
"""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _ok(cwd: Path, *args: str) -> str:
    res = run_proc(*args, cwd=cwd)
    assert res.returncode == 0, f"minireg {' '.join(args)}: {res.stderr}"
    return res.stdout


def _state(text: str) -> State:
    events, problems = parse_events([line for line in text.splitlines() if line.strip()])
    assert problems == []
    return fold(events)


def numbers_at(git_dir: Path, rev: str) -> dict[tuple[str, int], str]:
    """(model, version) -> artifact sha256 in the registry of commit ``rev``."""
    text = _git(git_dir, "show", f"{rev}:registry/events.jsonl").stdout
    return {key: rec.artifact_sha256 for key, rec in _state(text).versions.items()}


def register(clone: Path, art: Path, model: str, content: str) -> str:
    """Register ``content`` (written under ``art``) as a new version of ``model`` with
    --commit; return its sha256."""
    art.mkdir(exist_ok=True)
    reqs = art / "requirements.txt"
    reqs.write_text("scikit-learn==1.5.0\n")
    sha = hashlib.sha256(content.encode()).hexdigest()
    artifact = art / f"{sha[:16]}.bin"
    artifact.write_text(content)
    _ok(
        clone,
        "register",
        model,
        str(artifact),
        "--requirements",
        str(reqs),
        "--flavor",
        "file",
        "--commit",
    )
    return sha


class Team:
    """A bare remote holding a registry, and clones of it with the merge driver installed."""

    def __init__(self, tmp: Path, clones: tuple[str, ...] = ()) -> None:
        self.tmp = tmp
        self.remote = tmp / "remote.git"
        self.art = tmp / "artifacts"
        if self.remote.exists():
            return
        seed = tmp / "seed"
        seed.mkdir()
        git(seed, "init", "-q")
        _ok(seed, "init")
        (seed / "registry" / "minireg.toml").write_text(SETTINGS)
        git(seed, "add", "registry")
        git(seed, "commit", "-q", "-m", "registry")
        git(tmp, "clone", "-q", "--bare", str(seed), str(self.remote))
        for name in clones:
            self.clone(name)

    def copy(self, dest: Path) -> Team:
        """This team's folders copied under ``dest``, each clone pointing at the copy."""
        shutil.copytree(self.tmp, dest, symlinks=True)
        team = Team(dest)
        for path in dest.iterdir():
            if path.name != "seed" and (path / ".git").is_dir():
                git(path, "remote", "set-url", "origin", f"file://{team.remote}")
        return team

    def clone(self, name: str) -> Path:
        path = self.tmp / name
        git(self.tmp, "clone", "-q", f"file://{self.remote}", str(path))
        _ok(path, "install-merge-driver")
        return path

    def register(self, clone: Path, model: str, content: str) -> str:
        """Register ``content`` as a new version with --commit; return its sha256."""
        return register(clone, self.art, model, content)

    def main(self) -> dict[tuple[str, int], str]:
        return numbers_at(self.remote, "main")


def test_pull_rebase_never_renumbers_a_published_version(tmp_path: Path) -> None:
    """B registered first but pushed second: B's registration moves, main's v1 stays a1."""
    team = Team(tmp_path)
    a, b = team.clone("a"), team.clone("b")
    sha_b = team.register(b, "fraud", "b1")  # earlier created_at, not pushed
    sha_a = team.register(a, "fraud", "a1")
    git(a, "push", "-q", "origin", "HEAD:main")
    assert team.main() == {("fraud", 1): sha_a}

    assert _git(b, "push", "-q", "origin", "HEAD:main").returncode != 0
    pulled = _git(b, "pull", "-q", "--rebase", "origin", "main")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    _ok(b, "verify")
    _ok(b, "verify", "--against-git")
    git(b, "push", "-q", "origin", "HEAD:main")

    assert team.main() == {("fraud", 1): sha_a, ("fraud", 2): sha_b}
    fresh = team.clone("fresh")
    shown = json.loads(_ok(fresh, "show", "fraud", "1", "--json"))
    assert shown["artifact_sha256"] == sha_a
    _ok(fresh, "verify")
    # The renumber record names the local registration that moved.
    lines = (fresh / "registry" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    renumber = next(e for e in events if e["action"] == "renumber")
    assert renumber["data"] == {"from": 1, "to": 2, "rewritten": True}
    assert events[0]["action"] == "register" and events[0]["data"]["artifact_sha256"] == sha_a


@pytest.mark.slow
def test_the_retry_loop_lands_every_registration(tmp_path: Path) -> None:
    """A pushes after each registration; B keeps rebasing its unpushed ones until it lands."""
    team = Team(tmp_path)
    a, b = team.clone("a"), team.clone("b")
    mine: list[str] = []
    for round_ in range(3):
        team.register(a, "fraud", f"a{round_}")
        git(a, "push", "-q", "origin", "HEAD:main")
        mine.append(team.register(b, "fraud", f"b{round_}"))
        published = team.main()
        # B's push is rejected (A moved main); pull --rebase must always work.
        assert _git(b, "push", "-q", "origin", "HEAD:main").returncode != 0
        pulled = _git(b, "pull", "-q", "--rebase", "origin", "main")
        assert pulled.returncode == 0, f"round {round_}: {pulled.stdout}{pulled.stderr}"
        _ok(b, "verify")
        # Before B pushes, A pushes once more: B's rebased commits are rebased again.
        team.register(a, "fraud", f"a{round_}-more")
        git(a, "push", "-q", "origin", "HEAD:main")
        assert _git(b, "push", "-q", "origin", "HEAD:main").returncode != 0
        pulled = _git(b, "pull", "-q", "--rebase", "origin", "main")
        assert pulled.returncode == 0, f"round {round_}: {pulled.stdout}{pulled.stderr}"
        assert {k: v for k, v in team.main().items() if k in published} == published
    _ok(b, "verify", "--against-git")
    git(b, "push", "-q", "origin", "HEAD:main")
    main = team.main()
    assert set(mine) <= set(main.values())
    assert sorted(main) == [("fraud", n) for n in range(1, 10)]
    # B's registrations came last, in the order B made them.
    assert [main[("fraud", n)] for n in (7, 8, 9)] == mine


def test_merging_main_into_a_branch_moves_the_branch_registration(tmp_path: Path) -> None:
    """`git merge origin/main` on a feature branch: main's numbers stay, the branch's move;
    merging the branch back is then a fast-forward of the trail."""
    team = Team(tmp_path)
    a, b = team.clone("a"), team.clone("b")
    git(b, "checkout", "-q", "-b", "feature")
    sha_f = team.register(b, "fraud", "feature model")  # first, by created_at
    sha_m = team.register(a, "fraud", "main model")
    git(a, "push", "-q", "origin", "HEAD:main")
    git(b, "fetch", "-q", "origin")
    merged = _git(b, "merge", "--no-edit", "origin/main")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    _ok(b, "verify")
    _ok(b, "verify", "--against-git")
    assert numbers_at(b, "HEAD") == {("fraud", 1): sha_m, ("fraud", 2): sha_f}
    # The branch's trail is main's, then the branch's own events: main's lines unchanged.
    main_lines = _git(b, "show", "origin/main:registry/events.jsonl").stdout.splitlines()
    branch_lines = (b / "registry" / "events.jsonl").read_text().splitlines()
    assert branch_lines[: len(main_lines)] == main_lines
    # Into main: git fast-forwards, and main's version 1 is still main's model.
    git(b, "push", "-q", "origin", "feature:main")
    assert team.main() == {("fraud", 1): sha_m, ("fraud", 2): sha_f}


def test_pull_with_merge_moves_the_unpushed_registration(tmp_path: Path) -> None:
    """`git pull --no-rebase` on main with an unpushed registration: ours moves, not theirs."""
    team = Team(tmp_path)
    a, b = team.clone("a"), team.clone("b")
    sha_b = team.register(b, "fraud", "b first")
    sha_a = team.register(a, "fraud", "a published")
    git(a, "push", "-q", "origin", "HEAD:main")
    pulled = _git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    _ok(b, "verify")
    _ok(b, "verify", "--against-git")
    assert numbers_at(b, "HEAD") == {("fraud", 1): sha_a, ("fraud", 2): sha_b}
    git(b, "push", "-q", "origin", "HEAD:main")
    assert team.main() == {("fraud", 1): sha_a, ("fraud", 2): sha_b}


def test_main_branch_comes_from_the_remote_default_or_the_setting(tmp_path: Path) -> None:
    """A remote whose default branch is `trunk`: merging trunk into a branch moves the branch's."""
    team = Team(tmp_path)
    git(team.remote, "branch", "-m", "main", "trunk")
    git(team.remote, "symbolic-ref", "HEAD", "refs/heads/trunk")
    a, b = team.clone("a"), team.clone("b")
    assert git(b, "symbolic-ref", "refs/remotes/origin/HEAD") == "refs/remotes/origin/trunk"
    git(b, "checkout", "-q", "-b", "feature")
    sha_f = team.register(b, "fraud", "feature")
    sha_t = team.register(a, "fraud", "trunk")
    git(a, "push", "-q", "origin", "HEAD:trunk")
    git(b, "fetch", "-q", "origin")
    merged = _git(b, "merge", "--no-edit", "origin/trunk")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert numbers_at(b, "HEAD") == {("fraud", 1): sha_t, ("fraud", 2): sha_f}


def test_driver_refuses_when_it_cannot_tell_which_side_is_published(tmp_path: Path) -> None:
    """No branch named by [git] main_branch: the driver refuses and verify repeats why."""
    team = Team(tmp_path)
    b = team.clone("b")
    toml = b / "registry" / "minireg.toml"
    toml.write_text(SETTINGS + '\n[git]\nmain_branch = "release"\n')
    git(b, "commit", "-q", "-am", "settings: main branch is release")
    git(b, "checkout", "-q", "-b", "one")
    team.register(b, "fraud", "one")
    git(b, "checkout", "-q", "-b", "two", "HEAD~1")
    team.register(b, "fraud", "two")
    before = (b / "registry" / "events.jsonl").read_bytes()
    merged = _git(b, "merge", "--no-edit", "one")
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout
    assert (b / "registry" / "events.jsonl").read_bytes() == before
    why = (
        "could not tell which side is published: there is no branch 'release' here (looked "
        "for origin/release and release); set [git] main_branch in minireg.toml"
    )
    assert why in merged.stderr
    res = run_proc("verify", cwd=b)
    assert res.returncode == 6, res.stderr
    assert f"the merge driver stopped: {why}" in " ".join(res.stderr.split())
    # Once the branch exists (here: created from the shared commit), the merge goes through.
    git(b, "merge", "--abort")
    git(b, "branch", "release", "HEAD~1")
    merged = _git(b, "merge", "--no-edit", "one")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    _ok(b, "verify")


# -- [git] main_branch in minireg.toml ------------------------------------------


def test_main_branch_setting_is_read_and_checked() -> None:
    assert parse_config({}).main_branch == ""
    assert parse_config({"git": {"main_branch": "release/2024"}}).main_branch == "release/2024"
    bad = {
        "main_branch = 'main' at the top": ({"main_branch": "main"}, "belongs under [git]"),
        "not a table": ({"git": "main"}, "[git] must be a table"),
        "unknown key": ({"git": {"branch": "main"}}, "unknown setting 'branch'"),
        "empty": ({"git": {"main_branch": ""}}, "must be a branch name"),
        "a number": ({"git": {"main_branch": 3}}, "must be a branch name"),
        "a space": ({"git": {"main_branch": "my main"}}, "must be a branch name"),
        "a ref": ({"git": {"main_branch": "refs/heads/main"}}, "must be a branch name"),
    }
    for what, (raw, words) in bad.items():
        with pytest.raises(InvalidInput, match=words.replace("[", r"\[").replace("]", r"\]")):
            parse_config(raw)
        del what


# -- any interleaving of clones converges ----------------------------------------

_TEMPLATE: list[Team] = []


def _template() -> Team:
    """One remote and three clones, built once and copied for each example."""
    if not _TEMPLATE:
        where = Path(tempfile.mkdtemp(prefix="minireg-team-"))
        _TEMPLATE.append(Team(where, clones=("c0", "c1", "c2")))
    return _TEMPLATE[0]


@pytest.fixture(scope="module", autouse=True)
def _drop_template() -> Iterator[None]:
    yield
    for team in _TEMPLATE:
        shutil.rmtree(team.tmp, ignore_errors=True)
    _TEMPLATE.clear()


@dataclass
class _World:
    team: Team
    clones: list[Path]
    # sha256 -> (model, owner clone, last stage it was promoted to)
    registered: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    seen: dict[tuple[str, int], str] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)
    counter: int = 0

    def check_main(self) -> None:
        """Every commit of main, oldest first: a number once seen names the same bytes."""
        out = git(self.team.remote, "rev-list", "--reverse", "--topo-order", "main")
        for commit in out.split():
            if commit in self.checked:
                continue
            self.checked.add(commit)
            for key, sha in numbers_at(self.team.remote, commit).items():
                first = self.seen.setdefault(key, sha)
                assert first == sha, f"{key} changed meaning at {commit[:10]} of main"

    def push(self, who: int) -> None:
        """The README's loop: push; when refused, pull --rebase, verify, and again."""
        clone = self.clones[who]
        for _ in range(8):
            if _git(clone, "push", "-q", "origin", "HEAD:main").returncode == 0:
                break
            pulled = _git(clone, "pull", "-q", "--rebase", "origin", "main")
            assert pulled.returncode == 0, f"clone {who}: {pulled.stdout}{pulled.stderr}"
            _ok(clone, "verify")
        else:
            pytest.fail(f"clone {who} never landed its push")
        # Its HEAD is main now; --against-git needs a minireg commit in the history.
        written = git(clone, "log", "-1", "--format=%H", "--grep=^Minireg-Audit-Head: ")
        _ok(clone, "verify", *(["--against-git"] if written else []))
        self.check_main()

    def register(self, who: int, model: str) -> None:
        self.counter += 1
        sha = self.team.register(self.clones[who], model, f"clone {who} model {self.counter}")
        self.registered[sha] = (model, who, "None")

    def promote(self, who: int, pick: int, stage: str) -> None:
        """Promote one of this clone's own registrations, found by its bytes."""
        clone = self.clones[who]
        state = _state((clone / "registry" / "events.jsonl").read_text())
        own = sorted(
            (rec.model, rec.version, rec.artifact_sha256)
            for rec in state.records()
            if self.registered.get(rec.artifact_sha256, ("", -1, ""))[1] == who
            and rec.stage != stage
        )
        if not own:
            return
        model, number, sha = own[pick % len(own)]
        _ok(clone, "promote", model, str(number), "--to", stage, "--commit")
        self.registered[sha] = (model, who, stage)


_STEP = st.tuples(
    st.integers(min_value=0, max_value=2),
    st.sampled_from(("register", "register", "promote", "push")),
    st.sampled_from(("fraud", "churn")),
    st.integers(min_value=0, max_value=5),
    st.sampled_from(("Staging", "Production", "Archived")),
)


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(
    clones=st.integers(min_value=2, max_value=3),
    steps=st.lists(_STEP, min_size=1, max_size=10),
)
def test_any_interleaving_of_clones_converges(
    clones: int, steps: list[tuple[int, str, str, int, str]]
) -> None:
    work = Path(tempfile.mkdtemp(prefix="minireg-example-"))
    try:
        team = _template().copy(work / "team")
        world = _World(team, [team.tmp / f"c{i}" for i in range(clones)])
        done = [0] * clones
        for who, action, model, pick, stage in steps:
            who %= clones
            if done[who] == 6:  # at most six steps a clone
                continue
            done[who] += 1
            if action == "register":
                world.register(who, model)
            elif action == "promote":
                world.promote(who, pick, stage)
            else:
                world.push(who)
        for who in range(clones):
            world.push(who)
        # Everyone pushed: every registration is on main once, at its last promoted stage.
        final = _state(_git(team.remote, "show", "main:registry/events.jsonl").stdout)
        on_main = {rec.artifact_sha256: rec for rec in final.records()}
        assert len(on_main) == len(final.records())
        for sha, (model, _, stage) in world.registered.items():
            assert sha in on_main, f"a registration of {model} never reached main"
            assert (on_main[sha].model, on_main[sha].stage) == (model, stage)
        assert len(on_main) == len(world.registered)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_merge_that_would_renumber_a_version_of_main_is_refused(repo: Path) -> None:
    """A branch merged main the old way (main's version renumbered in its trail): merging
    another branch into it is refused, and rebasing it onto main repairs it."""
    from minireg.domain.merge import merge_events

    _ok(repo, "init")
    (repo / "registry" / "minireg.toml").write_text(SETTINGS)
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")
    _ok(repo, "install-merge-driver")
    art = repo.parent / "artifacts"
    git(repo, "checkout", "-q", "-b", "old")
    register(repo, art, "churn", "old branch, registered first")
    git(repo, "checkout", "-q", "main")
    sha_m = register(repo, art, "churn", "main")
    # The old rule moved the later registration, main's, to version 2 on the branch.
    git(repo, "checkout", "-q", "old")
    events = repo / "registry" / "events.jsonl"
    ours, _ = parse_events(events.read_text().splitlines())
    theirs, _ = parse_events(git(repo, "show", "main:registry/events.jsonl").splitlines())
    legacy = merge_events(ours, theirs, actor="old driver", time="2024-01-01T00:00:00Z", tool="t")
    assert legacy.renumbered == [("churn", 1, 2)]
    git(repo, "merge", "-q", "--no-commit", "-s", "ours", "main")
    events.write_bytes(legacy.text())
    _ok(repo, "rebuild")
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "merge main the old way")
    git(repo, "checkout", "-q", "-b", "other", "main~1")
    register(repo, art, "churn", "other branch")

    git(repo, "checkout", "-q", "old")
    merged = _git(repo, "merge", "--no-edit", "other")
    assert merged.returncode != 0
    why = (
        "churn version 1 of main would become version 2; published numbers never change: "
        "rebase the branch that renumbered it onto main (git rebase main), then merge again"
    )
    assert why in " ".join(merged.stderr.split())
    res = run_proc("verify")
    assert res.returncode == 6 and why in " ".join(res.stderr.split()), res.stderr
    git(repo, "merge", "--abort")
    # Rebasing the branch onto main drops the old merge and moves the branch's own version.
    rebased = _git(repo, "rebase", "main")
    assert rebased.returncode == 0, rebased.stdout + rebased.stderr
    assert numbers_at(repo, "HEAD")[("churn", 1)] == sha_m
    merged = _git(repo, "merge", "--no-edit", "other")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert numbers_at(repo, "HEAD")[("churn", 1)] == sha_m
    _ok(repo, "verify")
