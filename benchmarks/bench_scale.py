"""The whole package path at ml-25m scale on this laptop: load, MF, top-N, top-10 for every user; time and peak memory.

A synthetic archive in the official ml-25m layout (`movie_recs data synth`, same counts as ml-25m by default) stands in
for the download. Each step runs in a fresh process so its peak RSS is its own; the pipeline steps after the first
load run in one process, as a user's script would. The reference is plain `pandas.read_csv` of the same ratings.csv
(default dtypes, no checks), measured in the same run.

Run from the repository root (about 15 minutes on 2 cores, the archive is kept in --work for later runs):
    python benchmarks/bench_scale.py | tee benchmarks/bench_scale.txt
Smaller, for a quick look:
    python benchmarks/bench_scale.py --ratings 1M --work /tmp/movie_recs_scale_1m
Targets (issue 12): the whole pipeline under 10 minutes and under 8 GB peak RSS (moonshot: under 5 minutes).
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

STEP = r'''
import json, os, resource, sys, time
os.environ.setdefault('MPLBACKEND', 'Agg')
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
rows, t0 = [], time.perf_counter()
def step(name, t, note=''):
    rows.append(dict(step=name, seconds=time.perf_counter() - t, peak_rss=rss(), note=note))
which, archive, out = sys.argv[1], sys.argv[2], sys.argv[3]
if which == 'reference':
    import zipfile, pandas as pd
    t = time.perf_counter()
    with zipfile.ZipFile(archive) as zf:
        name = next(n for n in zf.namelist() if n.endswith('ratings.csv'))
        df = pd.read_csv(zf.open(name))
    step('reference: pandas.read_csv of ratings.csv (default dtypes, no checks)', t, f'{len(df):,} rows')
elif which == 'first':
    from movie_recs.data import load_movielens
    t = time.perf_counter()
    ml = load_movielens(archive)
    step('load, first time (parse the CSVs, check, write the Parquet cache)', t, repr(ml))
else:
    from movie_recs.data import load_movielens
    t = time.perf_counter()
    ml = load_movielens(archive)
    step('load, cached (Parquet)', t, f'{len(ml.ratings):,} ratings')
    from movie_recs import collab
    t = time.perf_counter()
    mf, why = collab.choose_model('mf', ml.ratings)
    mf.fit(ml.ratings, ml.movies)
    h = getattr(mf, 'history', None)
    note = f"{len(h)} epochs, best {mf.best_epoch}, valid RMSE {h.valid_rmse.min():.4f}; " + \
        ('refitted on all' if mf.refitted_ else 'no refit (over 2M ratings)')
    step('MF fit (defaults: early stopping on 10% held out; refit only up to 2M ratings)', t, note)
    del mf
    t = time.perf_counter()
    topn, why = collab.choose_model('topn', ml.ratings)
    topn.fit(ml.ratings, ml.movies)
    step('top-N fit (kind topn, chosen by size)', t, why)
    t = time.perf_counter()
    n = topn.recommend_to(out, n=10)
    step('top-10 for every user, written to Parquet as it goes', t, f'{n:,} rows, {len(topn.users):,} users')
print(json.dumps(rows))
'''


def run(which, archive, out):
    "One step script in a fresh process; its rows (step, seconds, peak_rss, note) and the wall time of the process."
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-c', STEP, which, str(archive), str(out)], capture_output=True, text=True)
    if r.returncode: sys.exit(f"{which} failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), time.perf_counter() - t


def count(text):
    t = text.lower()
    return int(float(t[:-1]) * {'k': 1e3, 'm': 1e6}[t[-1]]) if t[-1] in 'km' else int(t)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ratings', type=count, default=25_000_095)  # ml-25m's counts
    p.add_argument('--users', type=count)
    p.add_argument('--movies', type=count)
    p.add_argument('--work', default=os.path.join(tempfile.gettempdir(), 'movie_recs_scale'))
    a = p.parse_args()
    users = a.users or round(a.ratings * 162_541 / 25_000_095)
    movies = a.movies or round(a.ratings * 59_047 / 25_000_095)
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    src = work/f'ml-synth-{a.ratings}.zip'
    from movie_recs.data import synth_movielens
    t = time.perf_counter()
    made = not src.exists()
    if made: synth_movielens(src, ratings=a.ratings, users=users, movies=movies, seed=0)
    synth_s = time.perf_counter() - t
    run_dir = Path(tempfile.mkdtemp(dir=work))  # a fresh path, so the first load finds no cache
    archive = run_dir/src.name
    os.link(src, archive)
    ref, _ = run('reference', archive, '')
    first, first_wall = run('first', archive, '')
    pipe, pipe_wall = run('pipeline', archive, run_dir/'top10.parquet')
    print(f"# bench_scale  python {platform.python_version()}  cores {os.cpu_count()}  {platform.machine()}  "
          f"synthetic archive: {a.ratings:,} ratings, {users:,} users, {movies:,} movies "
          f"({src.stat().st_size / 2**20:,.0f} MB zip; generated in {synth_s:.0f} s" + ("" if made else ", earlier") + ")")
    print("\n| step | seconds | peak RSS of its process so far (GB) | note |\n|---|---:|---:|---|")
    for r in ref + first + pipe:
        print(f"| {r['step']} | {r['seconds']:.1f} | {r['peak_rss'] / 2**30:.2f} | {r['note']} |")
    total, peak = first_wall + pipe_wall, max(r['peak_rss'] for r in first + pipe)
    ratio = first[0]['seconds'] / ref[0]['seconds']
    print(f"\nfirst load / pandas reference: {ratio:.2f}x; cached load / reference: "
          f"{pipe[0]['seconds'] / ref[0]['seconds']:.2f}x")
    print(f"whole pipeline (first load + one process: cached load, MF, top-N, top-10 for all users), wall time with "
          f"process start-up: {total:.0f} s ({total / 60:.1f} min; target 10, moonshot 5); peak RSS {peak / 2**30:.2f} GB "
          f"(target 8)")
    print(f"met: time {'yes' if total < 600 else 'NO'}, memory {'yes' if peak < 8 * 2**30 else 'NO'}")
    shutil.rmtree(run_dir)  # the hard link, its cache and the output: all made by this run
    return 0


if __name__ == '__main__': sys.exit(main())
