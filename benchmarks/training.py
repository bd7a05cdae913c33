"""Training throughput on the CPU: float32 against bfloat16, one process against two.

Runs full training steps (forward, occupancy loss, layered-depth loss when
the model has the head, backward, Adam) of one preset's model on synthetic
batches (random images, points, labels and layers: the arithmetic is what it
is on real data) in fresh worker processes, one setting after another, and
reports the median images per second of each.  Settings:

* ``fp32-today``: what training did before issue 13: float32, one process
  with torch's default thread count (every core), batch 16;
* ``fp32-1thread``: float32, one process, one thread;
* ``bf16-1proc``: bfloat16 autocast, one process, one thread, batch 16;
* ``bf16-1proc-allthreads``: the same with torch's default thread count;
* ``bf16-2proc``: bfloat16, two one-thread processes under
  DistributedDataParallel (gloo), batch 8 each (16 per step), as
  ``torchrun --nproc-per-node 2 svr-desktop train`` runs.

Speed-ups are ratios against ``fp32-today`` measured in the same run, so they
hold on a shared machine whose absolute speed varies.

    python benchmarks/training.py [--preset cpu-small] [--set model.depth_head=true] [--steps 8]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

SETTINGS = {
    # name: (bf16, processes, threads per process or None for torch's default, batch per process)
    "fp32-today": (False, 1, None, 16),
    "fp32-1thread": (False, 1, 1, 16),
    "bf16-1proc": (True, 1, 1, 16),
    "bf16-1proc-allthreads": (True, 1, None, 16),
    "bf16-2proc": (True, 2, 1, 8),
}


def worker(args: argparse.Namespace) -> None:
    """One process of one setting: print its median images per second as JSON."""
    import torch

    from svr_desktop.devices import autocast
    from svr_desktop.model.methods import get_model
    from svr_desktop.training.config import load_config
    from svr_desktop.training.distributed import DistributedContext
    from svr_desktop.training.losses import label_loss, layered_depth_loss

    bf16, _, threads, batch = SETTINGS[args.worker]
    if threads is not None:
        torch.set_num_threads(threads)
    device = torch.device("cpu")
    ctx = DistributedContext.from_environment(device)
    config = load_config(args.preset, args.overrides)
    torch.manual_seed(0)
    model = get_model(config.model).train()
    network = torch.nn.parallel.DistributedDataParallel(model) if ctx.enabled else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    points, size, layers = config.data.points_per_view, config.model.image_size, config.model.depth_layers
    g = torch.Generator().manual_seed(ctx.rank)
    images = torch.rand(batch, 3, size, size, generator=g)
    xyz = torch.rand(batch, points, 3, generator=g) - 0.5
    a = b = torch.full((batch,), 1 / 0.55)
    targets = torch.rand(batch, points, generator=g)
    entry = torch.rand(batch, layers, size, size, generator=g) * 0.5
    exit_ = entry - 0.2
    count = torch.randint(0, layers + 1, (batch, size, size), generator=g)
    normal = torch.nn.functional.normalize(torch.randn(batch, 3, size, size, generator=g), dim=1)
    times = []
    for step in range(args.steps + 3):  # three warm-up steps
        ctx.barrier()
        start = time.perf_counter()
        with autocast(device, bf16):
            output, raw_layers = network(images, xyz, a, b, with_layers=True)
        loss = label_loss(output.float(), targets, "fixed")
        if raw_layers is not None:
            loss = loss + layered_depth_loss(raw_layers, entry, exit_, count, normal, 10.0, 1.0, 0.5)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= 3:
            times.append(time.perf_counter() - start)
    ctx.close()
    print(json.dumps({"images_per_s": batch / statistics.median(times), "threads": torch.get_num_threads()}))


def run_setting(name: str, args: argparse.Namespace) -> dict:
    """Launch a setting's processes and add up their throughput."""
    _, processes, _, batch = SETTINGS[name]
    command = [sys.executable, __file__, "--worker", name, "--preset", args.preset, "--steps", str(args.steps)]
    for override in args.overrides:
        command += ["--set", override]
    with socket.socket() as probe:  # a free port for the gloo rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    children = []
    for rank in range(processes):
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        env.pop("OMP_NUM_THREADS", None)
        if processes > 1:
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(processes), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        children.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    reports = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"setting {name} failed (exit {child.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "setting": name,
        "processes": processes,
        "threads_per_process": reports[0]["threads"],
        "batch_per_process": batch,
        "images_per_s": round(sum(r["images_per_s"] for r in reports), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--worker", choices=list(SETTINGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from svr_desktop.devices import cpu_has_native_bf16

    results = [run_setting(name, args) for name in args.settings]
    for result in results:
        print(
            f"{result['setting']:>13}: {result['processes']} x {result['threads_per_process']} thread(s), "
            f"batch {result['batch_per_process']}: {result['images_per_s']:.1f} images/s"
        )
    summary = {"preset": args.preset, "overrides": args.overrides, "cpu_native_bf16": cpu_has_native_bf16(), "results": results}
    base = next((r["images_per_s"] for r in results if r["setting"] == "fp32-today"), None)
    if base:
        for result in results:
            key = result["setting"].replace("-", "_")
            summary[f"speedup_{key}_vs_fp32_today"] = round(result["images_per_s"] / base, 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
