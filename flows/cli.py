"""The `trustshift` command line."""

import typer

app = typer.Typer(help="Evidence of what an information campaign changed.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("trustshift"))
