"""Which public API call each command's body makes: exactly one each (per form of the command).

A command's body opens the registry, makes this one call and renders the
result; renaming a call in the service means changing that line and this map.
``tests/test_cli_api.py`` checks that every name here exists, that the body of
each command makes the call named, and that every command is listed.
"""

COMMAND_API: dict[str, str] = {
    "init": "minireg.registry.init_registry",
    "register": "minireg.registry.Registry.register",
    "list": "minireg.registry.Registry.versions",
    "list --where/--sort/--columns": "minireg.query.run_list",
    "show": "minireg.loading.resolve",
    "show --at": "minireg.registry.Registry.snapshot",
    "path": "minireg.loading.resolve",
    "checkout": "minireg.loading.checkout",
    "promote": "minireg.registry.Registry.promote",
    "transition": "minireg.registry.Registry.promote",
    "alias set": "minireg.registry.Registry.set_alias",
    "alias delete": "minireg.registry.Registry.delete_alias",
    "describe": "minireg.registry.Registry.describe",
    "tag": "minireg.registry.Registry.tag",
    "history": "minireg.registry.Registry.history",
    "verify": "minireg.registry.Registry.verify",
    "rebuild": "minireg.registry.Registry.rebuild",
    "diff": "minireg.diff.diff_versions",
    "install-merge-driver": "minireg.gitmerge.install_merge_driver",
    "merge-driver": "minireg.gitmerge.merge_driver",
    "gc": "minireg.gc.collect_garbage",
    "convert": "minireg.spreadsheet.convert",
    "export mlflow": "minireg.exporters.mlflow.export_mlflow",
    "export xlsx": "minireg.spreadsheet.export_xlsx",
    "export csv": "minireg.spreadsheet.export_csv",
}
"""Command (or command form) → the dotted name of the public function or method it calls."""
