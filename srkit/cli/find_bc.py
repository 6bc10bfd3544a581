"""``srkit find-bc``: Monte-Carlo search of one shared x_T for a deterministic sampler (optimal-BC, eq. 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, EventBars, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors
from srkit.cli.options import RecipeOpt, SpacingOpt, WeightsOpt
from srkit.devices import resolve_device
from srkit.sampler_catalogue import deterministic_samplers, sampler_names_text

HELP = (
    "Find an optimal boundary condition: score K candidate x_T on R reference pairs with a deterministic "
    "sampler and keep the best. Example: srkit find-bc --ref 300 --candidates 1000 --hr-dir photos/"
)


@handle_errors
def command(
    method: Annotated[Optional[str], typer.Option("--method", "-m", help="Recipe name of the model (see `srkit recipes`); default sr3, or the recipe stored in --weights.")] = None,
    recipe: RecipeOpt = None,
    weights: WeightsOpt = None,
    ref: Annotated[Optional[int], typer.Option("--ref", min=1, help="Number R of reference pairs (paper: 300).")] = None,
    candidates: Annotated[Optional[int], typer.Option("--candidates", min=1, help="Number K of candidate x_T (paper: 1000).")] = None,
    ref_dir: Annotated[Optional[Path], typer.Option("--ref-dir", help="Paired references: a folder with hr/ and lr/ subfolders.")] = None,
    hr_dir: Annotated[Optional[Path], typer.Option("--hr-dir", help="HR photos; references are made with the recipe's degradation.")] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", min=8, help="HR crop size of the references (the BC's size).")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help=f"Deterministic sampler: {sampler_names_text(deterministic_samplers())}.")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Sampler steps (paper: DDIM-50, DPM-Solver-20).")] = None,
    order: Annotated[Optional[int], typer.Option("--order", min=1, max=3, help="DPM-Solver++ order.")] = None,
    spacing: SpacingOpt = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="lpips, dists, psnr, ssim or mse (default: the recipe's bc.metric: psnr for the built-in sr3 model, lpips in the method recipes).")] = None,
    strategy: Annotated[Optional[str], typer.Option("--strategy", help="exhaustive (K x R), racing (successive halving) or both (racing, then exhaustive; reports whether racing found the exhaustive winner).")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Candidate x reference samples per network call.")] = 8,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output safetensors file holding x_T and its metadata.")] = Path("bc.safetensors"),
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue an interrupted search from its progress file.")] = True,
    weights_dir: Annotated[Optional[Path], typer.Option("--weights-dir", help="Extra folder to look for metric weights (LPIPS, DISTS).")] = None,
    wait: WaitOpt = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.infer.bc_run import find_bc
    from srkit.io.output_folder import hold_output
    from srkit.infer.distributed import current_shard

    output = Output(json_mode=json_out, quiet=quiet)
    shard = current_shard()
    if out.suffix == ".safetensors":  # (a wrong suffix is refused by find_bc, before anything is held)
        hold_output(out.parent, wait=wait, file_name=out.name)  # writable and locked before the search, not after it
    with SearchProgress(output) as view:
        report = find_bc(
            method, recipe=recipe, weights=weights, ref_dir=ref_dir, hr_dir=hr_dir, out=out, ref=ref, candidates=candidates,
            crop=crop, sampler=sampler, steps=steps, order=order, spacing=spacing, metric=metric, strategy=strategy, batch=batch, resume=resume,
            weights_dir=weights_dir, device=shard.device(resolve_device(device)), seed=seed, progress=view, shard=shard,
        )
    if shard.is_main:
        output.result(report, lambda console: render_report(console, report))


class SearchProgress(EventBars):
    """One rich progress bar per evaluation phase (exhaustive pass or racing round), with ETA."""

    def __init__(self, output: Output) -> None:
        super().__init__(output)
        self.task = None
        self.label = None

    def __call__(self, kind: str, info: dict) -> None:
        if kind == "note":
            self.output.info(info["text"])
        if kind == "resumed":
            self.output.info(f"resumed: {info['pairs']} pairs already scored, read from {', '.join(info['files'])}")
        if kind != "pairs":
            return
        if info["label"] != self.label:
            self.label = info["label"]
            self.task = self.bar.add_task(self.label, total=info["total"], info="pairs")
        self.bar.update(self.task, completed=info["done"], total=info["total"])


def render_report(console, report: dict) -> None:
    """The chosen candidate, its score against the median candidate, and the cost."""
    better = "lower" if report["lower_is_better"] else "higher"
    console.print(
        f"BC written to {report['out']}: candidate {report['winner']} of {report['candidates']}, "
        f"{report['metric']} {report['score']:.5g} (median candidate {report['median_score']:.5g}; {better} is better) "
        f"over {report['references']} references",
        highlight=False,
    )
    console.print(
        f"NFE {report['nfe']} ({report['pairs_evaluated']} pairs x {report['nfe_per_sample']}); "
        f"computed now {report['pairs_computed']}, reused {report['pairs_reused']}; {report['seconds']:.1f} s",
        highlight=False,
    )
    if "racing_found_exhaustive_winner" in report:
        racing = report["racing"]
        verdict = "found" if report["racing_found_exhaustive_winner"] else "missed"
        console.print(f"racing {verdict} the exhaustive winner (racing picked {racing['winner']} with NFE {racing['nfe']})", highlight=False)
