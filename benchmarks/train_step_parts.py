"""Seconds per training step of a recipe, split into its parts (the preprocessor's share above all).

Builds the recipe's task as ``srkit train`` does and times, over ``--steps`` steps on random
HR crops of the recipe's size (plus the preprocessor's margin): the on-the-fly degradation,
the preprocessor (P = RRDBNet(LR), once per ``preprocess.train_reuse`` steps, as training
runs it), the loss forward (network, plus LPIPS when the recipe has a perceptual term) and
the backward pass with the optimiser step. Usage::

    python benchmarks/train_step_parts.py [--recipe builtin/dossr] [--steps 12] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from srkit.degrade.online import RandomDegradation
from srkit.recipes import load_recipe
from srkit.train.tasks import build_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="builtin/dossr")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    device = torch.device("cpu")
    task = build_task(recipe, stage=1, init=None, device=device, seed=0)
    degrade = RandomDegradation(recipe.data.degradation, recipe.scale, device)
    optimizer = torch.optim.AdamW(task.net.parameters(), lr=recipe.train.lr)
    size = recipe.data.crop + 2 * task.crop_margin
    generator = torch.Generator().manual_seed(0)
    times = {"degradation": 0.0, "preprocessor": 0.0, "forward": 0.0, "backward+step": 0.0}
    pair = None
    for step in range(args.steps + 1):
        start = time.perf_counter()
        if step % task.batch_reuse == 0:
            hr = torch.rand(recipe.train.batch_size, 3, size, size, generator=generator)
            pairs = degrade(hr, np.random.default_rng(step))
            after_degrade = time.perf_counter()
            pair = task.state_pair(pairs.lr, pairs.hr)
        else:
            after_degrade = start
        after_p = time.perf_counter()
        loss, _ = task.objective(task.net, task.process, *pair, generator)
        after_forward = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        end = time.perf_counter()
        if step:  # step 0 warms up
            for name, seconds in zip(times, (after_degrade - start, after_p - after_degrade, after_forward - after_p, end - after_forward)):
                times[name] += seconds
    total = sum(times.values())
    print(f"recipe {recipe.name}: batch {recipe.train.batch_size}, crop {recipe.data.crop} (+{task.crop_margin} margin), "
          f"P reused for {task.batch_reuse} steps, {args.threads} threads, {args.steps} steps")
    for name, seconds in times.items():
        print(f"{name:15s} {seconds / args.steps:7.3f} s/step  {100 * seconds / total:5.1f} %")
    print(f"{'total':15s} {total / args.steps:7.3f} s/step  ({args.steps / total:.2f} steps/s)")


if __name__ == "__main__":
    main()
