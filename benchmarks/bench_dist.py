"""Data-parallel MF on torch.distributed: ratings per second with 1 and 2 processes on this machine's cores, and the two
ways of summing the sparse row gradients ('rows': only the touched rows, the default; 'dense': the whole table).

    python benchmarks/bench_dist.py | tee benchmarks/bench_dist.txt

`--part memory` measures instead the peak memory of each rank of `train collab --data RELEASE` (a synthetic release in
ml-25m's shape with its Parquet cache), every rank reading its own row groups ('shard', the default) against every rank
reading every rating (MOVIE_RECS_DIST_READ=whole), with one process as the reference:

    python benchmarks/bench_dist.py --part memory --epochs 1 | tee benchmarks/bench_dist_memory.txt

Each configuration is a fresh `torchrun --nproc-per-node N` job (gloo on 127.0.0.1) running `train_module` on the same
synthetic ratings (seeded: every rank draws the same ones) for a few epochs; the one-process reference runs in the
same script, so the ratios are measured on the same machine in the same minutes.
"""
import argparse, json, os, platform, socket, subprocess, sys, time
from pathlib import Path

WORKER, MEM_WORKER = '--worker', '--mem-worker'


def worker(n, users, movies, epochs):
    import numpy as np, torch
    from movie_recs import dist
    from movie_recs.collab import DotBias, train_module
    rng = np.random.default_rng(0)
    u = torch.from_numpy(rng.integers(0, users, n, dtype=np.int32))
    i = torch.from_numpy(np.minimum(rng.zipf(1.3, n) - 1, movies - 1).astype(np.int32))  # popular movies, as in MovieLens
    r = torch.from_numpy(rng.integers(1, 11, n).astype(np.float32) / 2)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    h = train_module(DotBias(users, movies, 50), u, i, r, None, epochs=epochs)
    c = dist.comm()
    steps = epochs * -(-n // max(1024, n // 256))
    if dist.rank() == 0:
        print(json.dumps(dict(epoch_seconds=np.diff([0, *h.seconds]).tolist(), total=time.perf_counter() - t0,
                              train_rmse=float(h.train_rmse.iloc[-1]), steps=steps,
                              sent_per_step=(c.sent / steps) if c else 0.0)), flush=True)


def launch(nproc, args):
    "The command running the script `args` as one process, or as `nproc` ranks by torchrun on a free loopback port."
    if nproc == 1: return [sys.executable, *args]
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', str(nproc), '--master-addr', '127.0.0.1',
            '--master-port', str(port), *args]


def run(nproc, sync, n, users, movies, epochs):
    "One job; rank 0's JSON line."
    cmd = launch(nproc, [__file__, WORKER, str(n), str(users), str(movies), str(epochs)])
    env = {**os.environ, 'GLOO_SOCKET_IFNAME': 'lo', 'MOVIE_RECS_DIST_SYNC': sync, 'OMP_NUM_THREADS': '1'}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if p.returncode: sys.exit(f"{cmd} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _hwm() -> int:
    "Peak resident memory of this process so far, bytes (VmHWM: ru_maxrss would carry the launcher's peak over exec)."
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'): return int(line.split()[1]) * 1024
    return 0


def mem_worker(*argv):
    "One rank (or the one process) of `movie_recs train collab ...`: its peak memory before the command and after it."
    import movie_recs.collab, torch  # the libraries every rank imports, so the baseline holds them
    from movie_recs import dist
    from movie_recs.cli import main
    base, t0 = _hwm(), time.perf_counter()
    code = main(list(argv))
    got = dict(rank=dist.rank(), code=code, base=base, peak=_hwm(), seconds=time.perf_counter() - t0)
    print('MEM ' + json.dumps(got), file=sys.stderr, flush=True)


def memory(o):
    "Peak memory per rank of `train collab` on a synthetic release: one process, two ranks reading all, two on shards."
    import tempfile
    import numpy as np, torch
    from movie_recs.data import cache_folder, synth_movielens
    users, movies = max(o.ratings // 155, 10), max(o.ratings // 420, 10)  # ml-25m's shape
    cores = len(os.sched_getaffinity(0))
    print(f"# bench_dist --part memory, {time.strftime('%Y-%m-%d %H:%M')}, {cores} cores, {platform.machine()}, "
          f"torch {torch.__version__}, gloo on 127.0.0.1; load average at start {os.getloadavg()[0]:.1f}\n")
    with tempfile.TemporaryDirectory() as d:
        rel = synth_movielens(Path(d)/'ml-synth.zip', ratings=o.ratings, users=users, movies=movies, seed=0)
        cache = cache_folder(rel)  # built once here, before any measured run
        groups = __import__('pyarrow.parquet').parquet.ParquetFile(cache/'ratings.parquet').num_row_groups
        print(f"synthetic release: {o.ratings:,} ratings, {users:,} users, {movies:,} movies; Parquet cache in {groups} "
              f"row groups; `train collab --model mf --epochs {o.epochs}`\n")
        args = ['train', 'collab', '--data', str(rel), '--model', 'mf', '--epochs', str(o.epochs), '--out']
        rows = []
        for nproc, read in [(1, '-'), (2, 'whole'), (2, 'shard')]:
            env = {**os.environ, 'GLOO_SOCKET_IFNAME': 'lo', 'OMP_NUM_THREADS': '1', 'MOVIE_RECS_DIST_READ': read}
            cmd = launch(nproc, [__file__, MEM_WORKER, *args, str(Path(d)/f'mf-{nproc}-{read}')])
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
            got = sorted((json.loads(l[4:]) for l in p.stderr.splitlines() if l.startswith('MEM ')),
                         key=lambda x: x['rank'])
            if p.returncode or len(got) != nproc or any(g['code'] for g in got):
                sys.exit(f"{cmd} failed:\n{p.stderr[-3000:]}")
            rows += [(nproc, read, g) for g in got]
            print(f"  ran {nproc} process(es), read {read}: {got}", file=sys.stderr)
    print('| processes | each rank reads | rank | peak memory | above imports | above imports, per rating held | s |')
    print('|---:|---|---:|---:|---:|---:|---:|')
    for nproc, read, g in rows:
        held = o.ratings if read != 'shard' else o.ratings / nproc
        what = {'-': 'every rating (one process)', 'whole': 'every rating', 'shard': 'its own row groups'}[read]
        above = g['peak'] - g['base']
        print(f"| {nproc} | {what} | {g['rank']} | {g['peak'] / 2**20:,.0f} MiB | {above / 2**20:,.0f} MiB | "
              f"{above / held:.0f} B | {g['seconds']:.1f} |")
    peak = {(read, g['rank']): g['peak'] for _, read, g in rows}
    # rank 1 holds every rating (whole) or half of them, without their 8-byte timestamps (shard):
    # whole = fixed + per * n, shard = fixed + (per - 8) * n / 2
    per = 2 * (peak['whole', 1] - peak['shard', 1]) / o.ratings - 8
    fixed = peak['whole', 1] - rows[0][2]['base'] - per * o.ratings
    print(f"\nWhat grows with the ratings a rank holds, from rank 1's two rows (it holds every rating, then half of them "
          f"without timestamps, 8 B a rating less): {per:.0f} B a rating; the rest above imports ({fixed / 2**20:,.0f} MiB: "
          "the embedding tables with Adam's moments, the movie table, numba's compiled kernels) does not. Rank 0 holds "
          f"the seen matrix of every rating besides its shard: {(peak['shard', 0] - peak['shard', 1]) / 2**20:,.0f} MiB "
          f"more than rank 1 ({(peak['shard', 0] - peak['shard', 1]) / o.ratings:.1f} B a rating of the whole data).")
    print(f"\npeak memory: VmHWM of each rank's process; above imports: minus its peak after importing torch and the "
          "package, before the command. Per rating held: over the ratings that rank holds (all of them, or about "
          f"1/{nproc} on a shard). Load average at the end {os.getloadavg()[0]:.1f} (other jobs share these cores: the "
          "seconds are noisy, the memory is not).")


def main():
    import numpy as np, torch
    a = argparse.ArgumentParser()
    a.add_argument('--ratings', type=int, default=5_000_000)
    a.add_argument('--epochs', type=int, default=3)
    a.add_argument('--part', choices=['speed', 'memory'], default='speed')
    o = a.parse_args()
    if o.part == 'memory': return memory(o)
    users, movies = max(o.ratings // 155, 10), max(o.ratings // 420, 10)  # ml-25m's shape
    cores = len(os.sched_getaffinity(0))
    print(f"# bench_dist, {time.strftime('%Y-%m-%d %H:%M')}, {cores} cores, {platform.machine()}, "
          f"torch {torch.__version__}, gloo on 127.0.0.1\n")
    print(f"synthetic: {o.ratings:,} ratings, {users:,} users, {movies:,} movies; MF 50 factors, {o.epochs} epochs, "
          f"batch max(1024, n/256) = {max(1024, o.ratings // 256):,}\n")
    rows = []
    for nproc, sync in [(1, 'rows'), (2, 'rows'), (2, 'dense'), (1, 'rows')]:
        res = run(nproc, sync, o.ratings, users, movies, o.epochs)
        rows.append((nproc, sync, res))
        print(f"  ran {nproc} process(es), sync {sync}: {res}", file=sys.stderr)
    ref = np.median([np.median(r['epoch_seconds']) for p, _, r in rows if p == 1])  # before and after the others
    print('| processes | threads each | row-gradient sync | s per epoch | ratings/s | x one process | '
          'sent per step | train RMSE |')
    print('|---:|---:|---|---:|---:|---:|---:|---:|')
    for nproc, sync, r in rows:
        s = float(np.median(r['epoch_seconds']))
        sync_txt = '-' if nproc == 1 else sync
        sent = '-' if nproc == 1 else f"{r['sent_per_step'] / 1e6:.2f} MB"
        print(f"| {nproc} | {max(1, cores // nproc)} | {sync_txt} | {s:.2f} | {o.ratings / s:,.0f} | {ref / s:.2f} | "
              f"{sent} | {r['train_rmse']:.4f} |")
    print(f"\nx one process: the one-process median epoch ({ref:.2f} s, median of the two one-process runs, which "
          "bracket the others) over this row's; above 1 is faster. Both use every core: one process runs the numba "
          f"kernels on {cores} threads, two processes on {max(1, cores // 2)} each.")


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == WORKER: worker(*map(int, sys.argv[2:6]))
    elif len(sys.argv) > 1 and sys.argv[1] == MEM_WORKER: mem_worker(*sys.argv[2:])
    else: main()
