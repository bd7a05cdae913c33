#!/usr/bin/env bash
# Equal-budget comparison (issue 13): each run 1 process x 1 thread, bf16.
# usage: [MINUTES=15 EPOCHS=6] benchmarks/depth_comparison_queue.sh VARIANT-SEED ...
#        (variants: paper, head, full; run one queue per core)
# Session 4: 15 minutes, 6 epochs, queues "full-0 head-0 full-1" and "paper-0 paper-1 head-1".
# Session 5: 45 minutes, 14 epochs (runs named VARIANT-seedS-45min), queues "paper-0" and "full-0".
cd "$(dirname "$0")/.."
minutes=${MINUTES:-15}; epochs=${EPOCHS:-6}
suffix=$([ "$minutes" = 15 ] || echo "-${minutes}min")
for item in "$@"; do
  variant=${item%-*}; seed=${item##*-}
  case $variant in
    paper) extra=() ;;
    head) extra=(--set model.depth_head=true --set model.depth_layers=3) ;;
    full) extra=(--set model.depth_head=true --set model.depth_guided=true --set model.depth_layers=3) ;;
  esac
  name=$variant-seed$seed$suffix
  OMP_NUM_THREADS=1 .venv/bin/svr-desktop train --data /work/data/parts1600-d160 \
    --out /work/runs/depth-compare/runs/$name --config cpu-small \
    --set optim.lr=1e-3 --set optim.epochs=$epochs --set optim.warmup_steps=200 --set seed=$seed \
    "${extra[@]}" --max-minutes "$minutes" --quiet > /work/runs/depth-compare/$name.log 2>&1
done
