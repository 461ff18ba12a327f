"""Which public API call each command's body makes: exactly one each (per form of the command).

A command's body opens the registry, makes this one call and renders the
result; renaming a call in the service means changing that line and this map.
``tests/cli/test_api.py`` checks that every name here exists, that the body of
each command makes the call named, and that every command is listed.
"""

COMMAND_API: dict[str, str] = {
    "init": "minireg.service.registry.init_registry",
    "register": "minireg.service.registry.Registry.register",
    "register --batch": "minireg.service.registry.Registry.register_many",
    "list": "minireg.service.registry.Registry.listing",
    "list --json": "minireg.service.registry.Registry.versions",
    "list --where/--sort/--columns": "minireg.service.registry.Registry.query",
    "show": "minireg.loading.resolve",
    "show --at": "minireg.service.registry.Registry.snapshot",
    "path": "minireg.loading.resolve",
    "checkout": "minireg.loading.checkout",
    "promote": "minireg.service.registry.Registry.promote",
    "transition": "minireg.service.registry.Registry.promote",
    "alias set": "minireg.service.registry.Registry.set_alias",
    "alias delete": "minireg.service.registry.Registry.delete_alias",
    "describe": "minireg.service.registry.Registry.set_description",
    "tag": "minireg.service.registry.Registry.set_tag",
    "history": "minireg.service.registry.Registry.history",
    "verify": "minireg.service.registry.Registry.verify",
    "rebuild": "minireg.service.registry.Registry.rebuild",
    "diff": "minireg.service.registry.Registry.diff",
    "install-merge-driver": "minireg.adapters.git.merge_driver.install_merge_driver",
    "merge-driver": "minireg.adapters.git.merge_driver.merge_driver",
    "gc": "minireg.service.registry.Registry.gc",
    "gc --remote": "minireg.service.registry.Registry.gc_remote",
    "convert": "minireg.service.registry.Registry.convert",
    "export mlflow": "minireg.exporters.mlflow.export_mlflow",
    "export xlsx": "minireg.service.registry.Registry.export_xlsx",
    "export csv": "minireg.service.registry.Registry.export_csv",
    "remote set": "minireg.service.registry.Registry.set_remote",
    "remote show": "minireg.service.registry.Registry.remote_settings",
    "remote migrate": "minireg.service.registry.Registry.migrate_objects",
    "push": "minireg.service.registry.Registry.push",
    "pull": "minireg.service.registry.Registry.pull",
    "status": "minireg.service.registry.Registry.status",
    "hooks run": "minireg.service.registry.Registry.run_hooks",
    "hooks test": "minireg.service.registry.Registry.test_hooks",
    "hooks verify-signature": "minireg.adapters.webhook.verify_signature",
    "report": "minireg.service.registry.Registry.report",
}
"""Command (or command form) → the dotted name of the public function or method it calls."""
