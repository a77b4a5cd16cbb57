"""Data-parallel MF on torch.distributed: ratings per second with 1 and 2 processes on this machine's cores, and the two
ways of summing the sparse row gradients ('rows': only the touched rows, the default; 'dense': the whole table).

    python benchmarks/bench_dist.py | tee benchmarks/bench_dist.txt

Each configuration is a fresh `torchrun --nproc-per-node N` job (gloo on 127.0.0.1) running `train_module` on the same
synthetic ratings (seeded: every rank draws the same ones) for a few epochs; the one-process reference runs in the
same script, so the ratios are measured on the same machine in the same minutes.
"""
import argparse, json, os, platform, socket, subprocess, sys, time

WORKER = '--worker'


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


def run(nproc, sync, n, users, movies, epochs):
    "One job; rank 0's JSON line."
    args = [__file__, WORKER, str(n), str(users), str(movies), str(epochs)]
    env = {**os.environ, 'GLOO_SOCKET_IFNAME': 'lo', 'MOVIE_RECS_DIST_SYNC': sync, 'OMP_NUM_THREADS': '1'}
    if nproc == 1: cmd = [sys.executable, *args]
    else:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', str(nproc), '--master-addr',
               '127.0.0.1', '--master-port', str(port), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if p.returncode: sys.exit(f"{cmd} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    import numpy as np, torch
    a = argparse.ArgumentParser()
    a.add_argument('--ratings', type=int, default=5_000_000)
    a.add_argument('--epochs', type=int, default=3)
    o = a.parse_args()
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
    else: main()
