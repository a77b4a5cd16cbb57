"""Collaborative filtering at ml-25m scale: MF epoch time on 10M synthetic ratings against implicit, Surprise and fastai;
EASE float64 vs float32; ml-latest-small accuracy before and after; per-rating cost of the slow kinds (their max_ratings).

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_scale_collab.py | tee benchmarks/bench_scale_collab.txt
Needs the `bench` extra for Surprise (`pip install scikit-surprise`); a peer that is not installed is reported as such.
The synthetic set is made here in numpy (Zipf movie popularity, long-tail users, low-rank preferences plus noise,
half stars), int32 arrays straight into the models. The references are the two earlier trainers (autograd + torch SparseAdam +
OneCycleLR under one thread; then hand-written gradients and row Adam in torch ops), rebuilt below from their code,
timed in the same run on the same data.
Timings are medians of repeats on a 2-core machine shared with other jobs; they are noisy.
"""
import math, os, statistics, sys, tempfile, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

warnings.simplefilter('ignore')
SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from movie_recs import collab
from movie_recs.collab import BPMF, EASE, IALS, MF, Blend, DotBias, FastaiMF, NeuralMF, cores, train_module
from movie_recs.data import load_movielens, random_split, use_local_copy, user_split
from movie_recs.evaluation import ranking_metrics, rmse


def synthetic(n_ratings=10_000_000, n_users=70_000, n_movies=10_000, rank=10, seed=0):
    "MovieLens-like ratings: Zipf movie popularity, long-tail user activity, low-rank preferences + noise, half stars."
    rng = np.random.default_rng(seed)
    pop, act = 1 / np.arange(1, n_movies + 1) ** 0.9, 1 / np.arange(1, n_users + 1) ** 0.6
    u = rng.choice(n_users, n_ratings, p=act / act.sum()).astype('int32')
    i = rng.choice(n_movies, n_ratings, p=pop / pop.sum()).astype('int32')
    P, Q = rng.normal(0, 0.5, (n_users, rank)).astype('float32'), rng.normal(0, 0.5, (n_movies, rank)).astype('float32')
    bu, bi = rng.normal(0, 0.4, n_users).astype('float32'), rng.normal(0, 0.5, n_movies).astype('float32')
    r = np.empty(n_ratings, 'float32')
    for s in range(0, n_ratings, 1 << 20):
        uu, ii = u[s:s + (1 << 20)], i[s:s + (1 << 20)]
        x = 3.5 + bu[uu] + bi[ii] + 2 * np.einsum('nk,nk->n', P[uu], Q[ii]) / np.sqrt(rank) + rng.normal(0, 0.6, len(uu))
        r[s:s + len(uu)] = np.clip(np.round(x * 2) / 2, 0.5, 5)
    return u, i, r


def old_epoch_seconds(u, i, r, n_users, n_movies, epochs=2):
    "The previous trainer: sparse nn.Embedding, autograd, torch SparseAdam + OneCycleLR, one thread, batch n/256."
    torch.set_num_threads(1)
    torch.manual_seed(42)
    m = DotBias(n_users, n_movies, 50)
    opt = torch.optim.SparseAdam(list(m.parameters()), lr=5e-3)
    bs = max(1024, len(u) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 5e-3, total_steps=epochs * -(-len(u) // bs))
    gen, times = torch.Generator().manual_seed(42), []
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(len(u), generator=gen, dtype=torch.int32)
        for s in range(0, len(u), bs):
            b = perm[s:s + bs]
            pred, pen = m.terms(u[b], i[b])
            loss = (pred - r[b]).pow(2).mean() + 0.1 * pen
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        times.append(time.perf_counter() - t)
    torch.set_num_threads(cores())
    return times


def torch_rowadam_epoch_seconds(u, i, r, n_users, n_movies, epochs=2):
    "The trainer before the numba kernels: hand-written gradients and Adam on touched rows in torch ops, one thread."
    torch.set_num_threads(1)
    torch.manual_seed(42)
    m = DotBias(n_users, n_movies, 50)
    W = [m.u.weight.data, m.i.weight.data]
    M, V = [torch.zeros_like(w) for w in W], [torch.zeros_like(w) for w in W]
    bs = max(1024, len(u) // 256)
    total = epochs * -(-len(u) // bs)
    sched = (collab.one_cycle(k, total, 5e-3) for k in range(total))
    gen, times, t_ = torch.Generator().manual_seed(42), [], 0
    def side(rows, other, g, c):
        out = rows.mul(c)
        out[:, :-1].addcmul_(other[:, :-1], g[:, None])
        out[:, -1].add_(g)
        return out
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(len(u), generator=gen)
        for s in range(0, len(u), bs):
            b = perm[s:s + bs]
            idx = [u.index_select(0, b).long(), i.index_select(0, b).long()]
            pu, qi = W[0].index_select(0, idx[0]), W[1].index_select(0, idx[1])
            n, c = len(b), 2 * 0.1 / len(b)
            sg = torch.sigmoid(torch.einsum('nk,nk->n', pu[:, :-1], qi[:, :-1]) + pu[:, -1] + qi[:, -1])
            err = sg * 5.5 - r.index_select(0, b)
            g = err * sg * (1 - sg) * (2 * 5.5 / n)
            grads = [side(pu, qi, g, c), side(qi, pu, g, c)]
            lr, beta1 = next(sched)
            t_ += 1
            for k in range(2):
                rows, inv = torch.unique(idx[k], return_inverse=True)
                G = torch.zeros(len(rows), grads[k].shape[1]).index_add_(0, inv, grads[k])
                mk = M[k].index_select(0, rows).lerp_(G, 1 - beta1)
                vk = V[k].index_select(0, rows).mul_(0.999).addcmul_(G, G, value=0.001)
                M[k].index_copy_(0, rows, mk)
                V[k].index_copy_(0, rows, vk)
                size = lr * math.sqrt(1 - 0.999 ** t_) / (1 - beta1 ** t_)
                W[k].index_add_(0, rows, mk.div_(vk.sqrt_().add_(1e-8)), alpha=-size)
        times.append(time.perf_counter() - t)
    torch.set_num_threads(cores())
    return times


def new_epoch_seconds(u, i, r, n_users, n_movies, epochs=3):
    torch.manual_seed(42)
    h = train_module(DotBias(n_users, n_movies, 50), u, i, r, None, epochs=epochs)
    return list(np.diff(np.r_[0, h.seconds])), h.train_rmse.tolist()


def strict_float_epoch_seconds(u, i, r, n_users, n_movies, epochs=2):
    "Our trainer with its numba kernels compiled without fastmath (the sums in written order: no SIMD dot products)."
    import numba
    fast = collab._mf_grads, collab._adam_rows
    collab._mf_grads = numba.njit(parallel=True)(fast[0].py_func)
    collab._adam_rows = numba.njit(parallel=True)(fast[1].py_func)
    try:
        train_module(DotBias(n_users, n_movies, 50), u[:100_000], i[:100_000], r[:100_000], None, epochs=1)  # compile
        return new_epoch_seconds(u, i, r, n_users, n_movies, epochs)[0]
    finally: collab._mf_grads, collab._adam_rows = fast


def implicit_iteration_seconds(u, i, n_users, n_movies, iterations=3):
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits
    X = sp.csr_matrix((np.ones(len(u), 'float32'), (u, i)), shape=(n_users, n_movies))
    X.sum_duplicates()
    als = AlternatingLeastSquares(factors=50, iterations=iterations, random_state=0, num_threads=cores())
    t = time.perf_counter()
    with threadpool_limits(1, 'blas'): als.fit(X, show_progress=False)
    return (time.perf_counter() - t) / iterations


def surprise_epoch_seconds(u, i, r, n=1_000_000):
    try: import surprise
    except ImportError: return None
    df = pd.DataFrame({'user': u[:n], 'movie': i[:n], 'rating': r[:n]})
    ts = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(0.5, 5))).build_full_trainset()
    t = time.perf_counter()
    surprise.SVD(n_factors=50, n_epochs=2, random_state=0).fit(ts)
    return (time.perf_counter() - t) / 2 * len(u) / n


def fastai_epoch_seconds(u, i, r, n=1_000_000):
    from fastai.collab import CollabDataLoaders, collab_learner
    df = pd.DataFrame({'user': u[:n], 'movie': i[:n], 'rating': r[:n]})
    dls = CollabDataLoaders.from_df(df, valid_pct=0.01, bs=64, seed=0)
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    with learn.no_bar(), learn.no_logging():
        t = time.perf_counter()
        learn.fit_one_cycle(1, 5e-3, wd=0.1)
    return (time.perf_counter() - t) * len(u) / n


def ease_seconds(X, lam, dtype):
    "EASE's closed form in `dtype` on every core (float64 is the previous code)."
    with collab.torch_threads():
        t = time.perf_counter()
        G = torch.from_numpy((X.T @ X).toarray()).to(dtype)
        G.diagonal().add_(lam)
        P = torch.cholesky_inverse(torch.linalg.cholesky(G))
        B = (-P / P.diagonal()[None]).float().numpy()
        np.fill_diagonal(B, 0)
        return B, time.perf_counter() - t


def per_rating_seconds(make, df, n=1_000_000):
    "Fit time per training rating of a kind on the first `n` synthetic ratings (fewer if the kind refuses more)."
    m = make()
    n = min(n, getattr(m, 'max_ratings', None) or n)
    t = time.perf_counter()
    m.fit(df.iloc[:n])
    return (time.perf_counter() - t) / n


def table(rows, cols):
    "Rows as a Markdown table: floats to 4 significant digits, ints with thousands separators, None blank."
    cell = lambda v: '' if v is None or (isinstance(v, float) and math.isnan(v)) else (
        f'{v:,}' if isinstance(v, (int, np.integer)) else f'{v:.4g}' if isinstance(v, float) else str(v))
    lines = ['| ' + ' | '.join(cols) + ' |', '|---' + '|---:' * (len(cols) - 1) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows])


def main(sections=('epochs', 'ease', 'accuracy', 'per_rating'), fastai_ratings=1_000_000):
    print(f"# bench_scale_collab, {time.strftime('%Y-%m-%d %H:%M')}, {cores()} cores, torch {torch.__version__}, "
          f"sections: {', '.join(sections)}\n")
    use_local_copy(SHARED, os.environ['MOVIE_RECS_HOME'])
    u_np, i_np, r_np = synthetic()
    nu, ni = int(u_np.max()) + 1, int(i_np.max()) + 1
    u, i, r = torch.from_numpy(u_np), torch.from_numpy(i_np), torch.from_numpy(r_np)
    print(f"synthetic: {len(u):,} ratings, {nu:,} users, {ni:,} movies, seed 0\n")
    if 'epochs' in sections: epochs_section(u_np, i_np, r_np, u, i, r, nu, ni, fastai_ratings)
    ml = load_movielens('ml-latest-small')
    tr_u, te_u = user_split(ml.ratings, 0.25, seed=42)
    t32 = nd32 = None
    if 'ease' in sections or 'accuracy' in sections: t32, nd32 = ease_section(ml, tr_u, te_u)
    if 'accuracy' in sections: accuracy_section(ml, tr_u, te_u, t32, nd32)
    if 'per_rating' in sections: per_rating_section(u_np, i_np, r_np)


def epochs_section(u_np, i_np, r_np, u, i, r, nu, ni, fastai_ratings=1_000_000):

    new, rm = new_epoch_seconds(u, i, r, nu, ni)
    old = old_epoch_seconds(u, i, r, nu, ni)
    mid = torch_rowadam_epoch_seconds(u, i, r, nu, ni)
    strict = strict_float_epoch_seconds(u, i, r, nu, ni)
    new2, _ = new_epoch_seconds(u, i, r, nu, ni)
    ours, before, torch_ops = statistics.median(new + new2), statistics.median(old), statistics.median(mid)
    no_fast = statistics.median(strict)
    als = implicit_iteration_seconds(u_np, i_np, nu, ni)
    sur = surprise_epoch_seconds(u_np, i_np, r_np)
    fa = fastai_epoch_seconds(u_np, i_np, r_np, fastai_ratings)
    rows = [('ours: mf, fused numba kernels, float32 SIMD (2 cores)', ours, 1.0, 'median of 6 epochs over all 10M'),
            ('ours: the same kernels compiled without fastmath (2026-12-03)', no_fast, no_fast / ours,
             'median of 2 epochs over all 10M'),
            ('ours: mf, previous trainer (torch ops, hand-written gradients)', torch_ops, torch_ops / ours,
             'median of 2 epochs over all 10M'),
            ('ours: mf, first trainer (autograd + SparseAdam, 1 thread)', before, before / ours, 'median of 2 epochs over all 10M'),
            ('implicit ALS (50 factors), s per iteration', als, als / ours, 'all 10M, binarised, 2 threads'),
            ('Surprise SVD (50 factors), s per epoch', sur, (sur or math.nan) / ours,
             'timed on 1M, scaled x10' if sur else 'not installed'),
            ('fastai collab_learner (bs 64), s per epoch', fa, fa / ours, f'one epoch timed on {fastai_ratings:,}, scaled x{len(u) / fastai_ratings:g}')]
    print("## 10M synthetic ratings: seconds per epoch (target <= 5 s, moonshot <= 3 s)\n")
    print(table(rows, ['model', 'seconds', 'x ours', 'how']))
    print(f"\nnew trainer epochs: {', '.join(f'{s:.2f}' for s in new + new2)} s; train RMSE after 3 epochs {rm[-1]:.4f}")
    print(f"without fastmath: {', '.join(f'{s:.2f}' for s in strict)} s; previous trainer epochs: "
          f"{', '.join(f'{s:.2f}' for s in mid)} s; first trainer: {', '.join(f'{s:.2f}' for s in old)} s\n")


def ease_section(ml, tr_u, te_u):
    ease = EASE().fit(tr_u, ml.movies)
    X = ease.X
    b64 = [ease_seconds(X, 300.0, torch.float64) for _ in range(2)]
    b32 = [ease_seconds(X, 300.0, torch.float32) for _ in range(3)]
    t64, t32 = statistics.median(t for _, t in b64), statistics.median(t for _, t in b32)
    nd32 = ranking_metrics(ease.recommend(n=10), te_u, k=10)['ndcg']
    ease.B = b64[0][0]
    nd64 = ranking_metrics(ease.recommend(n=10), te_u, k=10)['ndcg']
    print(f"## EASE on ml-latest-small ({X.shape[1]:,} movies): Gram inverse\n")
    print(table([('float64 (previous)', t64, nd64), ('float32, 2 threads (now)', t32, nd32)],
                ['EASE', 'seconds', 'nDCG@10']))
    print(f"\nspeed-up {t64 / t32:.1f}x\n")
    return t32, nd32


def accuracy_section(ml, tr_u, te_u, t32, nd32):
    train, test = random_split(ml.ratings, drop_cold=True)
    acc = []
    t = time.perf_counter(); mf = MF().fit(train, ml.movies); s = time.perf_counter() - t
    acc.append(('mf (now)', rmse(test.rating, mf.predict(test.user, test.movie)), None, s))
    acc.append(('mf (before: benchmarks/demo_output.txt)', 0.8333, None, 4.9037))
    t = time.perf_counter(); ials = IALS().fit(tr_u, ml.movies); s = time.perf_counter() - t
    acc.append(('ease (now, float32)', None, nd32, t32))
    acc.append(('ease (before: demo_output.txt)', None, 0.3986, 18.13))
    acc.append(('ials (implicit, 32 factors, alpha 3)', None, ranking_metrics(ials.recommend(n=10), te_u, k=10)['ndcg'], s))
    print("## ml-latest-small accuracy (RMSE: fixed 80/20 split; nDCG@10: per-user 75/25 split)\n")
    print(table(acc, ['model', 'test RMSE', 'nDCG@10', 'fit s']))


def per_rating_section(u_np, i_np, r_np):
    df = pd.DataFrame({'user': u_np[:1_000_000], 'movie': i_np[:1_000_000], 'rating': r_np[:1_000_000]})
    print("\n## Fit seconds per rating on 1M synthetic ratings, and the 5-minute limit it implies\n")
    rows = []
    for name, make, have in [('bpmf', lambda: BPMF(), BPMF.max_ratings), ('nn', lambda: NeuralMF(), NeuralMF.max_ratings),
                             ('mf', lambda: MF(), MF.max_ratings)]:
        per = per_rating_seconds(make, df)
        rows.append((name, per * 1e6, int(300 / per), have))
    print(table(rows, ['kind', 'us per rating', 'ratings in 5 min', 'max_ratings set']))
    print("\n(bpmf is timed on its max_ratings, 900,000, the most it accepts)")
    print("\nblend = bpmf twice + mf twice; fastai: its epoch above x 5 epochs (see the 10M table)")


if __name__ == '__main__':
    import argparse
    a = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    a.add_argument('--sections', default='epochs,ease,accuracy,per_rating',
                   help='comma-separated: epochs (10M MF and peers, ~20 min), ease, accuracy, per_rating')
    a.add_argument('--fastai-ratings', type=int, default=1_000_000,
                   help='ratings to time fastai\'s epoch on, scaled to 10M (its epoch is linear in them; 1M takes ~16 min)')
    args = a.parse_args()
    main(tuple(args.sections.split(',')), args.fastai_ratings)
