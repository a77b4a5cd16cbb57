"""Start-up time of the `movie_recs` command against `python -c "import torch"`, measured in the same run.

Run from the repository root (a temporary data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_cli.py | tee benchmarks/bench_cli.txt
Each row is the median wall time of 5 fresh processes (after one warm-up run that fills the OS file cache).
Target (issue 11): `movie_recs --help` in under a tenth of `import torch`; `movie_recs data info` well under a second.
`data info` keeps the summary of a downloaded dataset beside it (made again when its files change), so it is timed
both ways: as a user runs it again, and the first time (the summary deleted before each run: pandas parses the zip).
"""
import os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _tables import md

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
EXE = str(Path(sys.executable).parent/'movie_recs')


def once(cmd, env, before=None):
    "Wall time of one run of `cmd` in a fresh process (`before()` is called first, untimed)."
    if before: before()
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode: raise RuntimeError(f"{cmd}: exit status {r.returncode}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t


def wall(cmd, env, n=5, before=None):
    "Median wall time of `n` runs of `cmd` in a fresh process (after one warm-up run)."
    once(cmd, env)
    return statistics.median(once(cmd, env, before) for _ in range(n))


def main():
    home = tempfile.mkdtemp(prefix='movie_recs_bench_cli_')
    env = {**os.environ, 'MOVIE_RECS_HOME': home}
    try:
        subprocess.run([EXE, 'data', 'seed', str(SHARED)], env=env, check=True, capture_output=True)
        info = [EXE, 'data', 'info', 'ml-latest-small']
        forget = lambda: (Path(home)/'downloads'/'ml-latest-small'/'info.json').unlink(missing_ok=True)
        cases = {'python -c "import torch"': ([sys.executable, '-c', 'import torch'], None),
                 'movie_recs --help': ([EXE, '--help'], None),
                 'movie_recs data info ml-latest-small': (info, None),
                 'movie_recs data info ml-latest-small (first time: parses the archive)': (info, forget),
                 'python -c "import movie_recs.cli"': ([sys.executable, '-c', 'import movie_recs.cli'], None),
                 'python -c "pass" (the interpreter alone)': ([sys.executable, '-c', 'pass'], None)}
        times = {name: wall(cmd, env, before=before) for name, (cmd, before) in cases.items()}
    finally: shutil.rmtree(home)
    ref = times['python -c "import torch"']
    targets = {'movie_recs --help': ref / 10, 'movie_recs data info ml-latest-small': 1.0}
    df = pd.DataFrame({'median wall (s)': times, 'ratio to import torch': {k: v / ref for k, v in times.items()},
                       'target (s)': targets})
    df.index.name = 'command'
    load = ' '.join(f'{x:.1f}' for x in os.getloadavg())
    print(f"# bench_cli  python {platform.python_version()}  cores {os.cpu_count()}  {platform.machine()}  load {load}")
    print(md(df, '.3f'))
    for name, target in targets.items():
        print(f"\n{name}: {times[name]:.3f} s, target {target:.3f} s: {'met' if times[name] < target else 'NOT met'}")


if __name__ == '__main__':
    main()
