"""Print the summary statistics of the fixed degradation workload, as the constants of the distribution test.

``tests/degrade/test_distribution.py`` holds the output of this script run on the
code *before* the batched/OpenCV-filter pipeline (commit dfd315c of srkit); the test
checks that the current pipeline reproduces them. Usage::

    python benchmarks/degrade_stats.py            # paste the printed dict into the test
"""

from __future__ import annotations

import pprint

import torch

from srkit.degrade.summary import reference_pairs, summarise

PRESETS = ("realesrgan", "resshift", "stablesr")


def main() -> None:
    torch.set_num_threads(1)
    table = {name: summarise(reference_pairs(name)) for name in PRESETS}
    rounded = {p: {k: (round(m, 6), round(se, 6)) for k, (m, se) in stats.items()} for p, stats in table.items()}
    print("BEFORE = ", end="")
    pprint.pprint(rounded, width=110)


if __name__ == "__main__":
    main()
