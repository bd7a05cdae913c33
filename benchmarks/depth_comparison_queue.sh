#!/usr/bin/env bash
# Equal-budget comparison (issue 13): each run 1 process x 1 thread, bf16, 15 minutes.
# usage: benchmarks/depth_comparison_queue.sh VARIANT-SEED ...   (variants: paper, head, full)
# Two queues ran side by side (one per core): "full-0 head-0 full-1" and "paper-0 paper-1 head-1".
cd "$(dirname "$0")/.."
for item in "$@"; do
  variant=${item%-*}; seed=${item##*-}
  case $variant in
    paper) extra=() ;;
    head) extra=(--set model.depth_head=true --set model.depth_layers=3) ;;
    full) extra=(--set model.depth_head=true --set model.depth_guided=true --set model.depth_layers=3) ;;
  esac
  OMP_NUM_THREADS=1 .venv/bin/svr-desktop train --data /work/data/parts1600-d160 \
    --out /work/runs/depth-compare/runs/$variant-seed$seed --config cpu-small \
    --set optim.lr=1e-3 --set optim.epochs=6 --set optim.warmup_steps=200 --set seed=$seed \
    "${extra[@]}" --max-minutes 15 --quiet > /work/runs/depth-compare/$variant-seed$seed.log 2>&1
done
