"""Peak memory and time of reading a user's own ratings file (issue 17 item 15): `read_ratings`, the CLI's `predict --test`
and `evaluate` on a 10-million-row ratings file, against the size of the result and plain readers measured in the same run.

Run from the repository root:
    python benchmarks/bench_user_files.py | tee benchmarks/bench_user_files.txt
Each measurement runs in a fresh process that reports its own wall time (imports excluded) and peak RSS (VmHWM from
/proc/self/status); "import only" is the baseline every process starts from. The file is the ratings.csv of a synthetic
release (`movie_recs data synth`, seed 0): userId,movieId,rating,timestamp with a header, as a user would bring it.
The predicting model is the package's `Biases` baseline fitted on the first 1M rows (its fit is not what is measured).
Timings are from a shared 2-core machine: noisy; the peaks are what this benchmark is for.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time, zipfile
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r'''
import json, sys, time
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
kind, path, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
import numpy as np, pandas as pd, pyarrow.csv
import movie_recs.data, movie_recs.cli
base = hwm()
t = time.perf_counter()
size = None
if kind == 'import': pass
elif kind == 'read_ratings':
    df = movie_recs.data.read_ratings(path)
    size = int(df.memory_usage(index=False).sum())
elif kind == 'pyarrow':  # the reference: pyarrow's own reader with the same compact types, no checks
    t_ = pyarrow.csv.read_csv(path, convert_options=pyarrow.csv.ConvertOptions(column_types={
        'userId': 'int32', 'movieId': 'int32', 'rating': 'float32', 'timestamp': 'int64'}))
    size = t_.nbytes
elif kind == 'pandas':  # the plain pandas reader, default types
    df = pd.read_csv(path)
    size = int(df.memory_usage(index=False).sum())
elif kind == 'cli':
    rc = movie_recs.cli.main(extra)
    assert rc in (0, None), rc
print(json.dumps({'wall': time.perf_counter() - t, 'peak': hwm(), 'import': base, 'size': size}))
'''


def child(kind, path='', *extra):
    r = subprocess.run([sys.executable, '-c', CHILD, kind, str(path), *map(str, extra)], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ratings', type=int, default=10_000_000)
    p.add_argument('--label', default='', help='a note for the header line, e.g. the commit measured')
    a = p.parse_args()
    import movie_recs
    from movie_recs.data import read_ratings, synth_movielens
    from movie_recs.evaluation import Biases
    print(f"# bench_user_files  python {platform.python_version()}  pandas {pd.__version__}  cores {os.cpu_count()}  "
          f"command: python benchmarks/bench_user_files.py --ratings {a.ratings}  {a.label}")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        z = synth_movielens(d/'ml-synth.zip', ratings=a.ratings, users=max(a.ratings // 155, 1),
                            movies=max(round(59_047 * (a.ratings / 25_000_095) ** 0.5), 1), seed=0)
        with zipfile.ZipFile(z) as zf, zf.open('ml-synth/ratings.csv') as src, open(d/'ratings.csv', 'wb') as out:
            while block := src.read(1 << 24): out.write(block)
        z.unlink()
        mb = (d/'ratings.csv').stat().st_size / 1e6
        head = pd.read_csv(d/'ratings.csv', nrows=1_000_000).rename(columns={'userId': 'user', 'movieId': 'movie'})
        Biases().fit(head).save(d/'model')
        del head
        rows = [('import only (baseline)', child('import')),
                ('read_ratings(file)', child('read_ratings', d/'ratings.csv')),
                ('reference: pyarrow.csv.read_csv, same types, no checks', child('pyarrow', d/'ratings.csv')),
                ('reference: pandas.read_csv, default types', child('pandas', d/'ratings.csv')),
                ('movie_recs predict --model M --test file --out P', child('cli', '', 'predict', '--model', d/'model',
                                                                          '--test', d/'ratings.csv', '--out', d/'p.csv')),
                ('movie_recs evaluate --test file --predictions P', child('cli', '', 'evaluate', '--test', d/'ratings.csv',
                                                                         '--predictions', d/'p.csv'))]
    result = a.ratings * (4 + 4 + 4 + 8)  # int32 user and movie, float32 rating, int64 timestamp
    print(f"\n{a.ratings:,} ratings, a {mb:,.0f} MB CSV; the ratings table itself is {result / 1e6:,.0f} MB "
          f"(int32 user and movie, float32 rating, int64 timestamp)\n")
    print('| step | wall (s) | peak RSS (MB) | above import (MB) | above import / result size |')
    print('|---|---:|---:|---:|---:|')
    base = rows[0][1]['peak']
    for name, r in rows:
        above = r['peak'] - base
        print(f"| {name} | {r['wall']:.2f} | {r['peak']:,.0f} | {above:,.0f} | {above * 1e6 / result:.1f}x |")


if __name__ == '__main__':
    main()
