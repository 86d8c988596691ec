"""How quickly the explorers respond: time until the picture changes, and until every
number (MS-SSIM last) is shown, for new and cached settings and for a new image.

    AECODEC_KODAK=../shared/kodak python benchmarks/explorer_speed.py

Uses the shipped models; with AECODEC_KODAK set, starts on the Kodak image kodim23.
"""

import time

from aecodec.recipes import RD_LAMBDAS
from aecodec.widgets import LatentExplorer, RateDistortionExplorer


def timed_change(explorer, control, value) -> tuple[float, float]:
    """Seconds until the picture changes, and until the update is complete."""
    shown = {}
    watcher = lambda change: shown.setdefault("t", time.perf_counter())  # noqa: E731
    explorer.picture.observe(watcher, names="value")
    start = time.perf_counter()
    control.value = value
    done = time.perf_counter() - start
    explorer.picture.unobserve(watcher, names="value")
    return shown.get("t", start + done) - start, done


def main() -> None:
    for name, make, control, new_values in (
        ("LatentExplorer", LatentExplorer, "channels", (32, 2)),
        ("RateDistortionExplorer", RateDistortionExplorer, "lmbda",
         (RD_LAMBDAS[1], RD_LAMBDAS[-1])),
    ):
        start = time.perf_counter()
        explorer = make()
        print(f"{name}: first view {time.perf_counter() - start:.2f} s "
              f"({explorer.image.value}, every model once)")
        first = getattr(explorer, control).value  # its result is cached by now
        for value in (*new_values, first):
            picture, done = timed_change(explorer, getattr(explorer, control), value)
            print(f"  {control} -> {value}{' (seen)' if value == first else ''}: picture after "
                  f"{picture:.2f} s, all numbers after {done:.2f} s")
        picture, done = timed_change(explorer, explorer.image, "coffee")
        print(f"  new image (coffee): picture after {picture:.2f} s, all after {done:.2f} s")


if __name__ == "__main__":
    main()
