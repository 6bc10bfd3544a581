"""``srkit bench``: compare methods, samplers and step counts on one dataset."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, QuietOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Benchmark methods on one dataset: NFE, parameters, latency, throughput and metrics per row, bicubic always "
    "included. Example: srkit bench --data val/ --methods dossr:5 resshift:15 sr3:100 ccsr:15 --out bench/"
)


@handle_errors
def command(
    data: Annotated[Path, typer.Option("--data", help="HR folder (degraded with --preset) or, with --paired, the HR folder.")],
    methods: Annotated[List[str], typer.Option("--methods", help="Rows as METHOD[:STEPS[:SAMPLER[:ORDER]]], e.g. dossr:5 sr3:100:ddim; repeat or separate by spaces.")] = ["dossr:5", "resshift:15", "ccsr:15", "sr3:100"],
    paired_lr: Annotated[Optional[Path], typer.Option("--paired-lr", help="LR folder matching --data by file name (no degradation then).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Degradation for --data (default: each method's own training preset).")] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Comma list: psnr,ssim,psnr_rgb,ssim_rgb,lpips,lpips_vgg,dists,niqe,musiq,clipiqa,maniqa,topiq,consistency.")] = "psnr,ssim,lpips,consistency",
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per image with seeds seed..seed+runs-1 (metrics averaged).")] = 1,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N images.")] = None,
    weights_dir: Annotated[Optional[Path], typer.Option("--weights-dir", help="Extra folder to look for metric weights.")] = None,
    crop_border: Annotated[Optional[int], typer.Option("--crop-border", min=0, help="Pixels cropped at each border for PSNR/SSIM (default: the scale).")] = None,
    tile: Annotated[str, typer.Option("--tile", help="Tile size for large images, 'auto' or 0.")] = "auto",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for CSV, JSON, markdown table and the perception-distortion plot.")] = None,
    save_images: Annotated[bool, typer.Option("--save-images", help="Also save every SR output under --out.")] = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit bench")
