"""``srkit recipes``: list the built-in recipes, or show one resolved and validated."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, JsonOpt, Output, handle_errors

HELP = "List the built-in recipes, or show one (a name or a YAML path) fully resolved and validated."


@handle_errors
def command(
    name: Annotated[Optional[str], typer.Argument(help="Recipe name (e.g. dossr) or YAML path to show; omit to list.")] = None,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.recipes import list_recipes, load_recipe, recipe_summary
    from srkit.released.registry import released_rows

    out = Output(json_mode=json_out)
    if name is None:
        rows = [{**recipe_summary(load_recipe(n)), "name": n} for n in list_recipes()]

        def render(console) -> None:
            from rich.table import Table

            table = Table(title="srkit recipes", show_lines=False)
            columns = ("name", "process", "objective", "sampler", "degradation")
            for column in columns:
                table.add_column(column, no_wrap=column == "name")
            for row in rows:
                table.add_row(*(row[c] for c in columns))
            console.print(table)
            console.print("Show one with `srkit recipes NAME`; use your own with `--recipe FILE.yaml`.", highlight=False)
            released_table = Table(title="released models (`srkit convert --from NAME`, then `--weights`; inference fixed as released)")
            for column in ("name", "description", "licence"):
                released_table.add_column(column, no_wrap=column == "name")
            for row in released:
                released_table.add_row(row["name"], row["description"], row["licence"])
            console.print(released_table)

        released = released_rows()
        out.result({"recipes": rows, "released": released}, render)
        return
    recipe = load_recipe(name)
    data = recipe.to_dict()

    def render_one(console) -> None:
        import yaml

        console.print(f"# {recipe.source}", highlight=False)
        console.print(yaml.safe_dump(data, sort_keys=False, width=1000), highlight=False, markup=False, soft_wrap=True)

    out.result(data, render_one)
