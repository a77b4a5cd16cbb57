"""Load times of the data layer on the real data, against plain-pandas references measured in the same run; then the
same at scale, on synthetic releases in the ml-25m layout.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_data.py | tee benchmarks/bench_data.txt
and once, for the full ml-25m size (about 10 minutes; its output is appended to the same file):
    python benchmarks/bench_data.py --ratings 25000000 --repeat 1 --no-small | tee -a benchmarks/bench_data.txt
Targets (issue 2): ml-latest-small ratings from the cached archive in under 1 s on 2 cores; the link table and the
poster index in under a few seconds (we hold them to 3 s). Issue 12: the cached load of 25M ratings takes seconds, and
peak memory while loading stays close to the size of the result (25M ratings: 500 MB as int32, int32, float32, int64).
Each scale load runs in a fresh process, which reports its own wall time (import excluded) and peak RSS (VmHWM from
/proc/self/status: ru_maxrss would carry over the parent's peak through fork; imports included, the "import only" row
is that baseline). Timings are medians of --repeat runs on a shared 2-core
machine: noisy.
"""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time, zipfile
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
import movie_recs.data as data
from movie_recs.data import (data_home, fetch, link_table, load_movielens, poster_index, read_dbpedia, seed_home,
                              synth_movielens)


def timeit(f, n=5):
    "Median wall time of `n` calls of `f` (after one warm-up call), and its last result."
    res = f(); ts = []
    for _ in range(n):
        t = time.perf_counter(); res = f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), res


def small():
    "The original rows: the real data, each against a plain-pandas reference."
    seed_home(SHARED)
    zpath = data_home()/'downloads'/'ml-latest-small'/'ml-latest-small.zip'
    ml1m = load_movielens(SHARED/'movielens'/'ml-1m-meta').movies
    tags10m = load_movielens(SHARED/'movielens'/'ml-10M100K-movies-tags.zip').tags
    dbp_dir = fetch('dbpedia-ml1m', show_progress=False)
    poster_dir = SHARED/'posters'/'ml1m-w185'

    def ref_ratings():  # plain pandas, no checks, default dtypes
        with zipfile.ZipFile(zpath) as zf: return pd.read_csv(zf.open('ml-latest-small/ratings.csv'))
    def ref_links():  # plain pandas: read and stack the edge lists, no id join
        return pd.concat([pd.read_csv(p, sep=' ', header=None) for p in sorted(dbp_dir.glob('*.edgelist'))])
    rows = [
        ('ml-latest-small: fetch (verified cache hit) + load all tables', lambda: load_movielens('ml-latest-small'),
         ref_ratings, 1.0),
        ('ml-latest-small: load all tables straight from the zip path', lambda: load_movielens(zpath), ref_ratings, 1.0),
        ('link table: DBpedia + 10M tags + genres, joined to ml-1m ids',
         lambda: link_table(ml1m, read_dbpedia(dbp_dir), tags10m).links, ref_links, 3.0),
        ('poster index: 3,872 posters', lambda: poster_index(poster_dir), lambda: sorted(poster_dir.glob('*.jpg')), 3.0),
    ]
    print(f"| step | ours (s) | reference (s) | ratio | target (s) | met |")
    print(f"|---|---:|---:|---:|---:|---|")
    ok = True
    for name, ours, ref, target in rows:
        t, _ = timeit(ours); r, _ = timeit(ref)
        ok &= t < target
        print(f"| {name} | {t:.3f} | {r:.3f} | {t / r:.1f}x | {target:.1f} | {'yes' if t < target else 'NO'} |")
    print("\nreference: plain pandas.read_csv of the ratings (or edge-list) files with no validation, id join or dtype work "
          "(glob alone for the poster index); ratio = ours / reference.")
    return ok


# One measured step, run in a fresh interpreter: prints {"s": wall seconds of the step, "rss": peak RSS in MB}.
CHILD = """
import json, sys, time, zipfile
what, path = sys.argv[1], sys.argv[2]
import pandas as pd
import movie_recs.data as data
t = time.perf_counter()
if what == 'reference':
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith('/ratings.csv'))
        out = pd.read_csv(zf.open(name))
elif what != 'import':
    out = data.load_movielens(path, cache={'parse': False, 'parse+cache': True, 'cached': True}[what])
    assert out.from_cache == (what == 'cached'), what
s = time.perf_counter() - t
hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))  # this process's own peak
print(json.dumps({'s': s, 'rss': int(hwm.split()[1]) / 1024}))
"""

def child(what, path):
    "Wall time and peak RSS of `what` on the release at `path`, in a fresh process."
    res = subprocess.run([sys.executable, '-c', CHILD, what, str(path)], capture_output=True, text=True)
    if res.returncode: raise RuntimeError(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(what, path, repeat, before=lambda: None):
    "Median wall time and median peak RSS of `repeat` fresh runs (`before` runs before each, untimed)."
    runs = []
    for _ in range(repeat):
        before()
        runs.append(child(what, path))
    return statistics.median(r['s'] for r in runs), statistics.median(r['rss'] for r in runs)


def synth_timed(path, n, **zip_opts):
    "Generate a release of `n` ratings in the ml-25m shape (ratings per user and per movie as in ml-25m)."
    old, data._SYNTH_ZIP = data._SYNTH_ZIP, {**data._SYNTH_ZIP, **zip_opts}
    try:
        t = time.perf_counter()
        synth_movielens(path, ratings=n, users=max(100, round(n / 154)), movies=max(1000, round(n / 424)), seed=0)
        return time.perf_counter() - t
    finally: data._SYNTH_ZIP = old


def scale(sizes, repeat):
    "Generation, first and cached loads at each size, against plain pandas.read_csv in the same run."
    print(f"\n## Scale: synthetic releases in the ml-25m shape (loads in fresh processes; medians of {repeat})\n")
    print("| ratings | step | wall (s) | peak RSS (MB) | above baseline (MB) | time / reference | RSS above baseline / "
          "reference's |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=os.environ.get('BENCH_TMP')) as d:
            path, cache = Path(d)/f'ml-synth-{n}.zip', Path(d)/f'ml-synth-{n}.zip.cache'
            gen = synth_timed(path, n)
            drop = lambda: shutil.rmtree(cache, ignore_errors=True)
            ref_s, ref_rss = measure('reference', path, repeat)
            base = measure('import', path, 1)[1]
            print(f"| {n:,} | generate ({path.stat().st_size / 1e6:.0f} MB zip, deflate level 1) | {gen:.2f} | | | "
                  f"{gen / ref_s:.2f}x | |")
            rows = [('import only (baseline RSS)', 0.0, base),
                    ('reference: pandas.read_csv(ratings.csv), default dtypes', ref_s, ref_rss),
                    ('first load, all tables (cache=False)', *measure('parse', path, repeat)),
                    ('first load, all tables, writing the cache', *measure('parse+cache', path, repeat, drop)),
                    ('cached load, all tables', *measure('cached', path, repeat))]
            for name, s, rss in rows:
                print(f"| {n:,} | {name} | {s:.2f} | {rss:.0f} | {rss - base:.0f} | {s / ref_s:.2f}x | "
                      f"{(rss - base) / max(ref_rss - base, 1):.2f}x |")
            result = n * (4 + 4 + 4 + 8) / 1e6
            print(f"| {n:,} | size of the ratings result (int32, int32, float32, int64) | | | {result:.0f} | | |")
    print("\nreference: `pandas.read_csv` of the same ratings.csv straight from the zip, default dtypes (int64, int64, "
          "float64, int64), no checks, ratings only (ours load and check all four tables). Peak RSS includes the "
          "interpreter and imports (the baseline row).")


def zip_choice(n, repeat):
    "Deflate level 1 against stored (no compression): generation time, archive size, first load."
    print(f"\n## Generator: deflate level 1 or stored? ({n:,} ratings; load medians of {repeat})\n")
    print("| zip members | generate (s) | archive (MB) | first load, cache=False (s) |")
    print("|---|---:|---:|---:|")
    for label, opts in [('deflate, level 1 (chosen)', {}), ('stored', dict(compression=zipfile.ZIP_STORED))]:
        with tempfile.TemporaryDirectory(dir=os.environ.get('BENCH_TMP')) as d:
            path = Path(d)/'ml-synth.zip'
            gen = synth_timed(path, n, **opts)
            print(f"| {label} | {gen:.2f} | {path.stat().st_size / 1e6:.0f} | {measure('parse', path, repeat)[0]:.2f} |")


def duplicates(n=10_000_000, repeat=3):
    "The duplicate check of check_ratings against pandas' duplicated, on sorted and on shuffled pairs."
    rng = np.random.default_rng(0)
    user = np.repeat(np.arange(n // 100, dtype=np.int32), 100)
    movie = np.tile(np.arange(0, 300, 3, dtype=np.int32), n // 100)
    print(f"\n## Duplicate (user, movie) check, {n:,} pairs, none duplicated (medians of {repeat})\n")
    print("| order | ours: `_has_duplicates` (s) | pandas `duplicated(['user', 'movie'])` (s) | ratio |")
    print("|---|---:|---:|---:|")
    for label, order in [('sorted by user, movie (every release)', np.arange(n)), ('shuffled', rng.permutation(n))]:
        df = pd.DataFrame({'user': user[order], 'movie': movie[order]})
        u, m = df.user.to_numpy(), df.movie.to_numpy()
        ours, found = timeit(lambda: data._has_duplicates(u, m), repeat)
        ref, dup = timeit(lambda: df.duplicated(['user', 'movie']).any(), repeat)
        assert found == dup == False
        print(f"| {label} | {ours:.3f} | {ref:.3f} | {ours / ref:.2f}x |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ratings', type=int, nargs='*', default=[1_000_000, 10_000_000], help='sizes of the scale section')
    ap.add_argument('--repeat', type=int, default=3, help='fresh runs per load step (median)')
    ap.add_argument('--no-small', action='store_true', help='skip the rows on the real data and the small studies')
    args = ap.parse_args()
    print(f"# bench_data  python {platform.python_version()}  pandas {pd.__version__}  cores {os.cpu_count()}  "
          f"{platform.machine()}  command: {' '.join(sys.argv[1:]) or '(defaults)'}")
    ok = True
    if not args.no_small:
        ok = small()
        duplicates()
        zip_choice(1_000_000, args.repeat)
    scale(args.ratings, args.repeat)
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
