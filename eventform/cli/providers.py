"""``eventform providers lock``: write environments' provider lock files (:mod:`eventform.synthesis.provider_locks`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from eventform.catalog.errors import CatalogError
from eventform.cli import selection
from eventform.cli.authoring import RootOption, project_root

console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)
providers = typer.Typer(help="Provider pinning: one lock file per environment, copied into each of its stacks.")


@providers.command("lock")
def lock(
    env: Annotated[list[str], typer.Option("--env", "-e", help="The environments to lock (repeat the option).")],
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="Platforms to record checksums for, e.g. linux_amd64 darwin_arm64."),
    ] = None,
    root: RootOption = None,
) -> None:
    """Write environments/<env>.terraform.lock.hcl with `terraform providers lock` (from the provider mirror when
    it holds a version the environment accepts, else from the registry); commit it. Synthesis copies it into every
    stack of the environment."""
    from eventform.catalog.environments import load_environments
    from eventform.synthesis import provider_locks

    project = project_root(root)
    try:
        selection.check(project, env)
        environments = load_environments(project / "environments", env)
    except CatalogError as error:
        errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for environment in environments:
        try:
            platforms = tuple(platform or ())
            written = provider_locks.write(project, environment.name, environment.provider_version, platforms)
        except provider_locks.LockError as error:
            errors.print(f"{environment.name}: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(
            f"{written.path.relative_to(project)}: hashicorp/aws {environment.provider_version!r} from "
            f"{written.source} for {', '.join(written.platforms)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(providers, name="providers")
