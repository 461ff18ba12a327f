"""A registry's hooks, as its settings hold them: which ones an event or a promotion calls.

The tables themselves (:class:`~minireg.domain.hook_settings.AfterHook`,
:class:`~minireg.domain.hook_settings.BeforeHook`) are parsed by
:mod:`minireg.domain.hook_settings`, imported only when ``minireg.toml`` has a
``[hooks]`` table: a registry without hooks pays nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minireg.domain.hook_settings import AfterHook, BeforeHook
    from minireg.domain.records import Event

CHANGE_OF_ACTION = {
    "register": "register",
    "transition": "transition",
    "alias_set": "alias",
    "alias_delete": "alias",
    "describe": "describe",
    "tag": "tag",
}
"""An event's action -> the change it is; merge and renumber records call no hook."""


class Hooks:
    """Every hook of a registry, in the order ``minireg.toml`` lists them (none by default)."""

    __slots__ = ("after", "before_transition")

    def __init__(
        self, after: tuple[AfterHook, ...] = (), before_transition: tuple[BeforeHook, ...] = ()
    ) -> None:
        self.after = after
        self.before_transition = before_transition

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hooks) and (self.after, self.before_transition) == (
            other.after,
            other.before_transition,
        )

    def __hash__(self) -> int:
        return hash((self.after, self.before_transition))

    def __repr__(self) -> str:
        return f"Hooks(after={self.after!r}, before_transition={self.before_transition!r})"

    def after_for(self, event: Event) -> list[AfterHook]:
        """The after-write hooks ``event`` calls."""
        return [hook for hook in self.after if hook.matches(event)]

    def before_for(self, model: str, target: str) -> list[BeforeHook]:
        """The before-transition hooks a promotion of ``model`` into ``target`` asks."""
        return [hook for hook in self.before_transition if hook.matches(model, target)]

    @property
    def secret_envs(self) -> frozenset[str]:
        """The environment variables that hold webhook secrets (kept from command hooks)."""
        return frozenset(hook.secret_env for hook in self.after if hook.secret_env)
