"""Load times of the data layer on the real data, against plain-pandas references measured in the same run.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_data.py | tee benchmarks/bench_data.txt
Targets (issue 2): ml-latest-small ratings from the cached archive in under 1 s on 2 cores; the link table and the
poster index in under a few seconds (we hold them to 3 s).
"""
import os, platform, statistics, sys, tempfile, time, zipfile
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from movie_recs.data import (data_home, fetch, link_table, load_movielens, poster_index, read_dbpedia, seed_home)


def timeit(f, n=5):
    "Median wall time of `n` calls of `f` (after one warm-up call), and its last result."
    res = f(); ts = []
    for _ in range(n):
        t = time.perf_counter(); res = f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), res


def main():
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
    print(f"# bench_data  python {platform.python_version()}  pandas {pd.__version__}  cores {os.cpu_count()}  "
          f"{platform.machine()}")
    print(f"| step | ours (s) | reference (s) | ratio | target (s) | met |")
    print(f"|---|---:|---:|---:|---:|---|")
    ok = True
    for name, ours, ref, target in rows:
        t, _ = timeit(ours); r, _ = timeit(ref)
        ok &= t < target
        print(f"| {name} | {t:.3f} | {r:.3f} | {t / r:.1f}x | {target:.1f} | {'yes' if t < target else 'NO'} |")
    print("\nreference: plain pandas.read_csv of the ratings (or edge-list) files with no validation, id join or dtype work "
          "(glob alone for the poster index); ratio = ours / reference.")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
