"""The writing verbs of a Registry: register, promote, aliases, descriptions, tags."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain import decisions
from minireg.domain.names import (
    check_alias,
    check_key,
    check_person,
    check_stage_name,
    check_text,
)
from minireg.domain.records import Draft, VersionRecord
from minireg.domain.state import State
from minireg.domain.values import parse_version, utc_text
from minireg.domain.vetting import Vetting, vetted
from minireg.service.results import Change, Promotion
from minireg.storage.objects import Progress

if TYPE_CHECKING:
    pass

from minireg.service.core import RegistryCore


class Writes(RegistryCore):
    """The writing verbs of a Registry: register, promote, aliases, descriptions, tags."""

    def register(
        self,
        model: str,
        artifact: Path | str,
        *,
        metrics: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        data: Path | str | None = None,
        training_date: str | None = None,
        description: str = "",
        requirements: Path | str | bytes | None = None,
        flavor: str | None = None,
        code_dir: Path | str | None = None,
        actor: str | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
        upload: bool = True,
    ) -> VersionRecord:
        """Register a new version of ``model`` and return its record.

        Args:
            model: the model name (letters, digits, ``_``, ``.``, ``-``).
            artifact: a file or folder; it is copied into ``objects/``.
            metrics: numeric metrics; params: values stored as text; tags: text.
            data: a file or folder whose sha256 is recorded as ``data_sha256``.
            training_date: ISO date or time; defaults to the artifact's modification time.
            requirements: a requirements file or its bytes; defaults to this environment.
            flavor: joblib, pickle, skops, onnx, file or dir; detected when omitted.
            code_dir: the folder whose git commit is recorded (default: the current one).
            upload: with a remote set, upload the new objects before the version is
                recorded (False: keep them local until :meth:`push`).

        Raises:
            InvalidInput: a bad name, value or path. Nothing is written.
            RegistryBusy: the lock was not acquired in time.
            LocalIOError: the disk failed; the message says whether it was recorded.
            RemoteError: the upload failed; nothing was recorded.

        Example:
            >>> reg = minireg.open_registry()
            >>> reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
        """
        from minireg.service.registration import Inputs, prepare

        inputs = Inputs(
            model, Path(artifact), metrics, params, tags, data, training_date, description,
            requirements, flavor, code_dir,
        )  # fmt: skip
        who = self._actor(actor)
        when = utc_text(now or self.clock())
        body = prepare(
            self.storage,
            inputs,
            initial_stage=self.config.initial_stage,
            who=who,
            when=when,
            progress=progress,
            upload=upload,
            bars=self._bars,
        )

        def decide(state: State) -> list[Draft]:
            return [Draft("register", model, state.next_version(model), body)]

        new, state = self._writer.write(decide, actor=who, time=when)
        self._hooks.after(new)  # the write has returned: the lock is released
        version = new[0].version
        assert version is not None
        return state.versions[(model, version)]

    def register_many(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        actor: str | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
        upload: bool = True,
    ) -> list[VersionRecord]:
        """Register many versions at once and return their records, in the items' order.

        Each item is a mapping of :meth:`register`'s keyword arguments (``model``,
        ``artifact``, ``metrics``, ``params``, ``tags``, ``data``, ``training_date``,
        ``description``, ``requirements``, ``flavor``, ``code_dir``). Every item is
        checked before anything is written; then the objects are stored, and one
        locked write appends every event (all or nothing) and updates the ledger
        once. Items of one model get consecutive versions in their order. Git is
        asked once and the environment's requirements are read once for the batch;
        every version has the same ``created_at`` and actor.

        Args:
            items: the registrations, in order.
            actor, now: who and when, for the whole batch.
            progress: called with (items stored, items in all).
            upload: with a remote set, upload the new objects (in one pass) before the
                versions are recorded (False: keep them local until :meth:`push`).

        Raises:
            InvalidItems: items hold bad values or paths; ``problems`` pairs each one's
                index with its sentence. Nothing is written.
            UnsafeItems: a folder artifact holds a symlink. Nothing is written.
            RegistryBusy: the lock was not acquired in time.
            LocalIOError: the disk failed; the message says whether it was recorded.
            RemoteError: the upload failed; nothing was recorded.

        Example:
            >>> reg.register_many([
            ...     {"model": "churn", "artifact": "a.joblib", "metrics": {"auc_roc": 0.91}},
            ...     {"model": "fraud", "artifact": "b.joblib", "tags": {"team": "risk"}},
            ... ])
        """
        from minireg.service.batch import register_many

        new, state = register_many(
            self.storage,
            self.config,
            self._writer,
            items,
            who=self._actor(actor),
            when=utc_text(now or self.clock()),
            progress=progress,
            upload=upload,
            bars=self._bars,
        )
        self._hooks.after(new)  # the write has returned: the lock is released
        return [state.versions[(event.model, event.version or 0)] for event in new]

    def promote(
        self,
        model: str,
        version: int | str,
        stage: str,
        *,
        approver: str = "",
        reason: str = "",
        archive_existing: bool = False,
        dry_run: bool = False,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Promotion:
        """Move a version to ``stage`` (MLflow's transition) if every policy check passes.

        With ``archive_existing`` the versions that held the stage move to the
        archive stage in the same locked operation, each as its own event.
        Promoting to the stage the version holds already writes nothing
        (``changed`` is False). The ``[[hooks.before_transition]]`` commands for
        the target stage run first, before the lock is taken: their verdicts join
        ``checks`` and are recorded in the transition event (``data["hooks"]``).

        Args:
            stage: the target stage, matched case-insensitively.
            approver, reason: recorded on the event as fields of their own.
            archive_existing: archive the current holders of ``stage``.
            dry_run: decide and return every check's verdict, write nothing,
                raise nothing for failed checks (see ``Promotion.allowed``).
            actor, now: who and when (default: the configured actor, the clock).

        Raises:
            InvalidInput: a bad version number, or a newline in approver or reason.
            NotFound: unknown model, version or stage.
            Refused: a check failed, a before-transition hook's included (``reasons``
                lists each); nothing is written.

        Example:
            >>> reg.promote("churn", 7, "Production", approver="alice@corp",
            ...             reason="AUC 0.91 vs 0.88", archive_existing=True)
        """
        number = parse_version(version)
        target = decisions.stage_of(self.config, check_stage_name(stage))
        # A blank approver is no approver: "--approver ' '" must not pass a policy.
        approver = check_person("approver", approver).strip()
        check_text("reason", reason)
        plans: list[decisions.PromotionPlan] = []

        def plan(state: State) -> decisions.PromotionPlan:
            return decisions.plan_promotion(
                state, self.config, model, number, target,
                approver=approver, reason=reason, archive_existing=archive_existing,
            )  # fmt: skip

        who, vetting = actor, None
        if self.config.hooks.before_transition:  # asked before the lock, on the state now
            who = self._actor(actor)
            ask = (who, approver, reason, archive_existing, dry_run)
            vetting = self._vet(plan(self.state()), *ask)

        def decide(state: State) -> list[Draft]:
            plans.append(vetted(plan(state), vetting))
            if plans[-1].failed and not dry_run:
                raise plans[-1].refusal()
            return [] if dry_run else plans[-1].drafts

        if dry_run:  # decides without the lock: it writes nothing
            decide(self.state())
            return Promotion.of(plans[-1], [], dry_run=True)
        new, _ = self._write(decide, actor=who, now=now)
        return Promotion.of(plans[-1], new)

    def _vet(
        self,
        plan: decisions.PromotionPlan,
        actor: str,
        approver: str,
        reason: str,
        archive_existing: bool,
        dry_run: bool,
    ) -> Vetting | None:
        """The before-transition hooks' verdicts, asked before the lock is taken.

        None when no hook applies. A promotion the built-in checks already refuse
        is refused here, without running the hooks (a dry run runs them all);
        one that hooks veto is refused here too, so the lock is never taken.
        """
        if not self.config.hooks.before_for(plan.record.model, plan.target):
            return None
        if not plan.changed:  # nothing to ask; if it moves meanwhile, vetted() refuses
            return Vetting(plan.record.stage)
        if plan.failed and not dry_run:
            raise plan.refusal()
        vetting = self._hooks.vet(
            plan.record, plan.target, actor=actor, approver=approver, reason=reason,
            archive_existing=archive_existing, dry_run=dry_run, time=utc_text(self.clock()),
        )  # fmt: skip
        if not dry_run and not all(check.passed for check in vetting.checks):
            raise vetted(plan, vetting).refusal()
        return vetting

    # MLflow's word for the same verb.
    transition_model_version_stage = promote

    def set_alias(
        self,
        model: str,
        alias: str,
        version: int | str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Point ``@alias`` of ``model`` at ``version`` (moving it if another version had it)."""
        check_alias(alias)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.alias_set(state, model, alias, number), actor=actor, now=now
        )
        if not new:
            return Change(
                [], f"@{alias} already points to {model} version {number}; nothing to do."
            )
        return Change(new, f"@{alias} now points to {model} version {number}.")

    def delete_alias(
        self, model: str, alias: str, *, actor: str | None = None, now: datetime | None = None
    ) -> Change:
        """Remove ``@alias`` from ``model``. Raises NotFound if it does not exist."""
        new, _ = self._write(
            lambda state: decisions.alias_delete(state, model, alias), actor=actor, now=now
        )
        return Change(new, f"@{alias} of {model} is deleted.")

    def set_description(
        self,
        model: str,
        version: int | str,
        description: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set a version's description (MLflow: ``update_model_version(description=)``)."""
        check_text("description", description)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.description(state, model, number, description),
            actor=actor,
            now=now,
        )
        if not new:
            return Change(
                [], f"{model} version {number} already has that description; nothing to do."
            )
        return Change(new, f"{model} version {number} is described.")

    def set_tag(
        self,
        model: str,
        version: int | str,
        key: str,
        value: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set a tag on a version (MLflow: ``set_model_version_tag``)."""
        check_text(f"tag {key!r}", value)
        return self._tag(model, version, key, value, actor=actor, now=now)

    def delete_tag(
        self,
        model: str,
        version: int | str,
        key: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Remove a tag from a version (MLflow: ``delete_model_version_tag``)."""
        return self._tag(model, version, key, None, actor=actor, now=now)

    def _tag(
        self,
        model: str,
        version: int | str,
        key: str,
        value: str | None,
        *,
        actor: str | None,
        now: datetime | None,
    ) -> Change:
        check_key("tag", key)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.tag(state, model, number, key, value), actor=actor, now=now
        )
        shown = f"{key}={value}" if value is not None else f"{key} removed"
        if not new:
            return Change([], f"{model} version {number} already has tag {shown}; nothing to do.")
        if value is None:
            return Change(new, f"{model} version {number}: tag {key} is removed.")
        return Change(new, f"{model} version {number} is tagged {key}={value}.")

    def describe(self, model: str, version: int | str, text: str, **kw: Any) -> Change:
        """Deprecated: use :meth:`set_description`."""
        warnings.warn("Registry.describe is set_description now", DeprecationWarning, 2)
        return self.set_description(model, version, text, **kw)

    def tag(self, model: str, version: int | str, key: str, value: str | None, **kw: Any) -> Change:
        """Deprecated: use :meth:`set_tag` or :meth:`delete_tag`."""
        warnings.warn("Registry.tag is set_tag / delete_tag now", DeprecationWarning, 2)
        if value is None:
            return self.delete_tag(model, version, key, **kw)
        return self.set_tag(model, version, key, value, **kw)
