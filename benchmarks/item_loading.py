"""Training items per second from a built data set, views as rendered against views turned in their plane.

``data.turn_degrees`` turns each training item's image, depth layers,
normals and points (:mod:`svr_desktop.data.dataset`); this measures what
that costs the data loader.  The two settings alternate in rounds over the
same items, so their ratio holds on a busy machine.

    python benchmarks/item_loading.py --data DATA_SET [--items 300] [--rounds 3] [--turn-degrees 25]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from svr_desktop.data.dataset import ViewDataset


def seconds_per_item(dataset: ViewDataset, items: int) -> float:
    start = time.perf_counter()
    for index in range(items):
        dataset[index]
    return (time.perf_counter() - start) / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a built data set")
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--turn-degrees", type=float, default=25.0)
    args = parser.parse_args()

    plain = ViewDataset(args.data, "train")
    turned = ViewDataset(args.data, "train", turn_degrees=args.turn_degrees)
    items = min(args.items, len(plain))
    seconds_per_item(plain, min(items, 20))  # map the shards' pages in before timing
    times = {"plain": [], "turned": []}
    for round_ in range(args.rounds):
        for name, dataset in (("plain", plain), ("turned", turned)):
            times[name].append(seconds_per_item(dataset, items))
            print(f"round {round_ + 1}: {name:6s} {1000 * times[name][-1]:.2f} ms per item", flush=True)
    plain_ms, turned_ms = (1000 * statistics.median(times[name]) for name in ("plain", "turned"))
    print(json.dumps({
        "items": items, "rounds": args.rounds, "turn_degrees": args.turn_degrees,
        "plain_ms_per_item": round(plain_ms, 3), "turned_ms_per_item": round(turned_ms, 3),
        "turned_over_plain": round(turned_ms / plain_ms, 2),
    }))


if __name__ == "__main__":
    main()
