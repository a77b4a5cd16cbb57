"""Link embeddings: training speed against the original's per-sample Python batch generator, and quality against baselines.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_links.py | tee benchmarks/bench_links.txt
Targets (issue 4): at least 20x the samples per second of the reference, a faithful reimplementation of the original
Keras notebook's batch generator (pure Python per sample: `random.sample` of 512 true pairs, then `random.randrange`
pairs rejected against a Python set until 10 negatives per true pair, `np.random.shuffle`) feeding the same torch
network, loss and optimiser; a full training on the shipped link data (MovieLens 1M + DBpedia + 10M tags + genres)
in under 60 s on 2 cores (the speed rows train with the reference's squared-error loss, like for like). Quality
rows compare the embedding with the popularity baseline and with the previous default (squared error, 3 negatives);
issue 15's target is a link prediction AUC of at least 0.90 on both catalogues.
"""
import os, platform, random, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from movie_recs.data import link_table, load_movielens, random_split, read_dbpedia, seed_home
from movie_recs.links import (LinkEmbeddings, LinkNet, attribute_regression, evaluate_taste, holdout_links,
                              link_prediction, movie_attributes, train_link_net)


def batchifier(pairs, pairs_set, n_movies, n_links, positive_samples=512, negative_ratio=10):
    "The original's generator, line for line (movie first instead of link first)."
    batch_size = positive_samples * (1 + negative_ratio)
    batch = np.zeros((batch_size, 3))
    while True:
        for idx, (movie_id, link_id) in enumerate(random.sample(pairs, positive_samples)):
            batch[idx, :] = (movie_id, link_id, 1)
        idx = positive_samples
        while idx < batch_size:
            movie_id = random.randrange(n_movies)
            link_id = random.randrange(n_links)
            if not (movie_id, link_id) in pairs_set:
                batch[idx, :] = (movie_id, link_id, -1)
                idx += 1
        np.random.shuffle(batch)
        yield batch


def reference_rate(pm, pl, n_movies, n_links, threads, steps=30):
    "Samples per second of the reference: generator + the same network, MSE and NAdam, one step per batch."
    torch.set_num_threads(threads); random.seed(5); np.random.seed(5)
    pairs = list(zip(pm.tolist(), pl.tolist())); gen = batchifier(pairs, set(pairs), n_movies, n_links)
    net = LinkNet(n_movies, n_links, 50, torch.Generator().manual_seed(0))
    opt = torch.optim.NAdam(net.parameters(), lr=0.05)
    t = time.perf_counter(); n = 0
    for _ in range(steps):
        b = torch.from_numpy(next(gen))
        loss = F.mse_loss(net(b[:, 0].long(), b[:, 1].long()), b[:, 2].float())
        opt.zero_grad(); loss.backward(); opt.step(); n += len(b)
    return n / (time.perf_counter() - t)


def ours_rate(pm, pl, n_movies, n_links, negatives, epochs=5):
    "Samples per second of `train_link_net` (true pairs plus 10 negatives each, every epoch)."
    net = LinkNet(n_movies, n_links, 50, torch.Generator().manual_seed(0))
    train_link_net(net, pm, pl, epochs=1, negatives=negatives, loss='mse', show_progress=False)  # warm-up
    t = time.perf_counter()
    train_link_net(net, pm, pl, epochs=epochs, negatives=negatives, generator=torch.Generator().manual_seed(0),
                   loss='mse', show_progress=False)  # the reference's loss: like for like
    return epochs * len(pm) * 11 / (time.perf_counter() - t)


def main():
    torch.set_num_threads(2); load0 = os.getloadavg()[0]
    seed_home(SHARED)
    movies = load_movielens(SHARED/'movielens'/'ml-1m-meta').movies
    tags = load_movielens(SHARED/'movielens'/'ml-10M100K-movies-tags.zip').tags
    links = link_table(movies, read_dbpedia(), tags=tags).links
    rows = []

    t = time.perf_counter(); model = LinkEmbeddings(show_progress=False).fit(links, movies)
    full_s = time.perf_counter() - t
    pm, pl = torch.from_numpy(model.pairs_[0]).long(), torch.from_numpy(model.pairs_[1]).long()
    nm, nl = len(model.movies), len(model.links)
    runs = {k: [] for k in (1, 2, 'block', 'independent')}
    for _ in range(3):  # interleaved, medians: a busy machine slows every contender alike
        for k in runs: runs[k].append(reference_rate(pm, pl, nm, nl, k) if k in (1, 2) else ours_rate(pm, pl, nm, nl, k))
    med = {k: float(np.median(v)) for k, v in runs.items()}
    ref = {th: med[th] for th in (1, 2)}
    best_th = max(ref, key=ref.get); r = ref[best_th]
    blk, ind = med['block'], med['independent']
    ref_epoch = len(pm) * (1 + model.negative_ratio) / r  # the reference's time for the same samples
    rows += [(f'samples/s, reference generator + same net ({best_th} thread{"s" * (best_th > 1)}; '
              f'{ref[3 - best_th]:,.0f} with {3 - best_th})', r, r, 1.0, '', ''),
             ('samples/s, ours: block negatives (default)', blk, r, blk / r, '>= 20x', blk / r >= 20),
             ('samples/s, ours: independent negatives (option; not the target)', ind, r, ind / r, '', ''),
             (f'full training: {len(pm):,} true pairs x {1 + model.negative_ratio}, {model.epochs} epochs (s)', full_s,
              ref_epoch * model.epochs, full_s / (ref_epoch * model.epochs), '< 60 s', full_s < 60)]

    train, test = holdout_links(links)
    held = LinkEmbeddings(show_progress=False).fit(train, movies)
    lp = link_prediction(held, test)
    old = link_prediction(LinkEmbeddings(loss='mse', negative_ratio=3, show_progress=False).fit(train, movies), test)
    for col, name, target in [('auc', 'link prediction ROC AUC, ml-1m movies', 0.90),
                              ('hit_rate', 'link prediction hit rate@10, ml-1m movies', None)]:
        e, p, rnd = lp.loc['embedding', col], lp.loc['popularity', col], lp.loc['random', col]
        rows.append((f'{name} (vs popularity; random {rnd:.3f})', e, p, e / p,
                     f'>= {target}' if target else '', e >= target if target else ''))
        o = old.loc['embedding', col]
        rows.append((f'{name}: default (logistic loss) vs the previous default (squared error, 3 negatives)', e, o,
                     e / o, '', ''))
    small = load_movielens('ml-latest-small').movies  # what `movie_recs train links --tags <10M tags>` trains on
    s_train, s_test = holdout_links(link_table(small, read_dbpedia(), tags=tags).links)
    lps = link_prediction(LinkEmbeddings(show_progress=False).fit(s_train, small), s_test)
    for col, name, target in [('auc', 'link prediction ROC AUC', 0.90), ('hit_rate', 'link prediction hit rate@10', None)]:
        e, p, rnd = lps.loc['embedding', col], lps.loc['popularity', col], lps.loc['random', col]
        rows.append((f'{name}, ml-latest-small movies + 10M tags (vs popularity; random {rnd:.3f})', e, p, e / p,
                     f'>= {target}' if target else '', e >= target if target else ''))
    held_i = LinkEmbeddings(negatives="independent", show_progress=False).fit(train, movies)
    lpi = link_prediction(held_i, test)
    rows.append(('link prediction ROC AUC, independent negatives (vs popularity)', lpi.loc['embedding', 'auc'],
                 lpi.loc['popularity', 'auc'], lpi.loc['embedding', 'auc'] / lpi.loc['popularity', 'auc'], '', ''))

    ml = load_movielens('ml-latest-small')
    split = random_split(ml.ratings)
    for method in ['svm', 'logreg']:
        et = evaluate_taste(model.movie_vectors(), split, method=method, show_progress=False)
        rows.append((f'taste model ({method}) nDCG@10, {int(et.loc["taste", "users"])} users (vs popularity)',
                     et.loc['taste', 'ndcg'], et.loc['popularity', 'ndcg'],
                     et.loc['taste', 'ndcg'] / et.loc['popularity', 'ndcg'], '', ''))
    attrs = movie_attributes(movies, ml.ratings)
    for c in attrs:
        a = attribute_regression(model.movie_vectors(), attrs[c])
        rows.append((f'{c}: held-out MSE, {a["n_test"]} movies (vs training mean)', a['mse'], a['baseline_mse'],
                     a['mse'] / a['baseline_mse'], '< 1x', a['mse'] < a['baseline_mse']))

    print(f"# bench_links  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"{platform.machine()}  load average at start/end: {load0:.1f}/{os.getloadavg()[0]:.1f}")
    print(f"| measure | ours | reference / baseline | ratio | target | met |")
    print(f"|---|---:|---:|---:|---|---|")
    ok = True
    for name, o, ref_, ratio, target, met in rows:
        fmt = (lambda v: f'{v:,.0f}') if o > 100 else (lambda v: f'{v:.3f}')
        ok &= met is not False
        print(f"| {name} | {fmt(o)} | {fmt(ref_)} | {ratio:.2f}x | {target} | "
              f"{'' if met == '' else 'yes' if met else 'NO'} |")
    print(f"\nreference generator: {ref_epoch:.1f} s per epoch of {len(pm) * (1 + model.negative_ratio):,} samples here (the original's Keras "
          "loop: about 66 s per epoch of 949k x 11 samples). Ours trains with one thread (see train_link_net); the "
          "reference is timed with 1 and 2 threads and the faster is used; speeds are medians of 3 interleaved runs. "
          "Link prediction: 10% of the (movie, link) pairs hidden; hit rate@10 = share of movies with a hidden link "
          "among their 10 best-scored new links. Taste: ml-latest-small random 80/20 split, liked >= 4, "
          "disliked <= 2, relevant test ratings >= 4. The defaults loss='logistic', logit_scale=10, negative_ratio=10 were "
          "chosen on another split of the links (benchmarks/sweep_link_loss.py, seed 7), not on this one (seed 42).")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
