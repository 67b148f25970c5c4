"""The `demo` command group."""
import click


@click.group("demo", help="Demo data for trying Miaopu out.")
def demo_cli():
    """The `demo` command group."""
