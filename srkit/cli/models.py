"""``srkit models``: the built-in trained checkpoints shipped with srkit."""

from __future__ import annotations

from srkit.cli.common import DebugOpt, JsonOpt, Output, handle_errors

HELP = "List the built-in trained models (checkpoints shipped inside srkit) with their recipe and model id."


@handle_errors
def command(json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    from srkit.pretrained.realesrgan import LICENCE as REALESRGAN_LICENCE
    from srkit.weights.builtin import list_builtin_models

    out = Output(json_mode=json_out)
    rows = list_builtin_models()

    def render(console) -> None:
        from rich.table import Table

        if not rows:
            console.print("no built-in models are shipped in this version of srkit (use --weights FILE)")
            return
        table = Table(title="built-in models")
        for column in ("method", "model id", "params", "trained steps", "default sampler", "bc"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            params = f"{int(row['params']) / 1e6:.2f}M" if str(row.get("params", "")).isdigit() else str(row.get("params", ""))
            steps = f"{row['steps']} (stage 2)" if row["stage"] == 2 else str(row["steps"])
            table.add_row(row["method"], row["model_id"], params, steps, row["sampler"], "yes" if row["bc"] else "-")
        console.print(table)
        console.print(f"licence of these models: {', '.join(sorted({row['licence'] for row in rows}))}", highlight=False)
        console.print(
            f"Also: --method realesrgan (Real-ESRGAN x4plus, {REALESRGAN_LICENCE}); "
            "released models of the papers: `srkit recipes` lists them with their licences.",
            highlight=False,
        )

    out.result({"models": rows}, render)
