"""How fast the `aecodec` command answers, against how long `import torch` takes.

Each command runs in a fresh Python process (as `python -m aecodec ...`, what the
`aecodec` console script runs), `--repeat` times; the table gives the median wall time,
the CPU time of that run (user + system) and the ratio of the median to that of
`python -c "import torch"`. `aecodec --help` and `aecodec classroom build --help` import
neither PyTorch nor nbformat; `aecodec compress --help` imports PyTorch, because its help
shows the shipped codecs' qualities and families, which live in modules that need it.

    python benchmarks/cli_startup.py --out benchmarks/results/cli_startup.md
"""

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {  # label: arguments of the Python interpreter
    'python -c "pass"': ["-c", "pass"],
    'python -c "import torch"': ["-c", "import torch"],
    "aecodec --help": ["-m", "aecodec", "--help"],
    "aecodec classroom build --help": ["-m", "aecodec", "classroom", "build", "--help"],
    "aecodec compress --help": ["-m", "aecodec", "compress", "--help"],
}
REFERENCE = 'python -c "import torch"'


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of the interpreter with `args`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    runs = {label: [] for label in COMMANDS}
    for _ in range(args.repeat):  # interleaved, so that a change in load hits every command
        for label, command in COMMANDS.items():
            runs[label].append(timed(command))
    load_after = os.getloadavg()[0]

    def median_run(label: str) -> tuple[float, float]:
        walls = [wall for wall, _ in runs[label]]
        return runs[label][walls.index(statistics.median_low(walls))]

    reference = median_run(REFERENCE)[0]
    lines = [f"Start-up of the `aecodec` command: {args.repeat} runs of each in fresh "
             f"processes, interleaved; median wall time.",
             "",
             f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, Python "
             f"{platform.python_version()}; load average {load_before:.1f} before the runs, "
             f"{load_after:.1f} after.",
             "",
             "| command | median wall (s) | CPU of that run (s) | all runs, wall (s) | "
             "ratio to `import torch` |",
             "|---|---|---|---|---|"]
    for label in COMMANDS:
        wall, cpu = median_run(label)
        every = ", ".join(f"{w:.2f}" for w, _ in runs[label])
        lines.append(f"| `{label}` | {wall:.3f} | {cpu:.2f} | {every} | "
                     f"{wall / reference:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(out)  # atomic: a stopped run leaves the previous results whole


if __name__ == "__main__":
    main()
