"""Training throughput of the presets on the current device.

Runs full training steps (forward, loss, backward, Adam) of each preset's
model on synthetic batches of the preset's size (random images, points and
labels: the arithmetic is what it is on real data) and reports the median
step time after warm-up.

    python benchmarks/training.py [--presets cpu-small paper] [--steps 5] [--device auto]

Ends with one JSON line: a list with one object per preset.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from svr_desktop.devices import pick_device
from svr_desktop.model.network import get_model
from svr_desktop.training.config import load_config
from svr_desktop.training.losses import label_loss


def measure(preset: str, device: torch.device, steps: int) -> dict:
    config = load_config(preset)
    torch.manual_seed(0)
    model = get_model(config.model).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr)
    batch, points, size = config.data.batch_size, config.data.points_per_view, config.model.image_size
    images = torch.rand(batch, 3, size, size, device=device)
    xyz = torch.rand(batch, points, 3, device=device) - 0.5
    a = b = torch.full((batch,), 1 / 0.55, device=device)
    targets = torch.rand(batch, points, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and config.optim.amp)
    times = []
    for step in range(steps + 2):  # two warm-up steps
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with autocast:
            output = model(images, xyz, a, b)
        loss = label_loss(output.float(), targets, config.labels.mode)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "preset": preset,
        "device": str(device),
        "images_per_s": round(batch / step_s, 2),
        "points_per_s": round(batch * points / step_s),
        "step_s": round(step_s, 4),
        "batch": batch,
        "points_per_view": points,
        "image_size": size,
        "parameters": parameters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["cpu-small", "paper"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    results = []
    for preset in args.presets:
        result = measure(preset, device, args.steps)
        results.append(result)
        print(
            f"{preset:>10} on {device}: {result['step_s']:.3f} s/step, {result['images_per_s']:.1f} images/s, "
            f"{result['points_per_s']:,} points/s ({result['parameters']:,} parameters)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
