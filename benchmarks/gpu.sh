#!/usr/bin/env bash
# GPU check (benchmarks/gpu_check.py): per-call latency of the paper-size UNet and of SD-2.1-size
# UNet/ControlNet (fp32, bf16, compiled), training steps/s of the paper recipes and degradation pairs/s
# on CUDA, written to one JSON file. Under 8 minutes on one H100/H200 (budget 420 s + start-up).
#   benchmarks/gpu.sh [OUT.json] [extra gpu_check.py options, e.g. --no-compile]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out="${1:-${OUT:-.}/gpu-check.json}"
shift || true
timeout 470 python3 benchmarks/gpu_check.py --out "$out" "$@"
echo "wrote $out"
