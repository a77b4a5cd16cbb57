"""How much of `similar`'s score comes from shared links: the validation search behind LinkEmbeddings' `overlap=0.8`.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/sweep_link_overlap.py | tee benchmarks/sweep_link_overlap.txt
One default LinkEmbeddings per catalogue (the links of ml-latest-small's and MovieLens 1M's movies: DBpedia + the 10M
tags + genres, what `movie_recs train links` trains on); only `overlap`, which weighs the cosine of two movies'
IDF-weighted link sets against the cosine of their vectors, changes. Franchises come from the titles
(`franchise_groups`); those with two or more titles among the model's movies are split in halves at random (seed 0):
`overlap` is chosen on the validation half (the best mean validation franchise recall@10 over the two catalogues;
among settings within 0.005 of it, the one with most embedding, which orders the movies that share the same links),
and the test half is reported beside it, never looked at for the choice. Neighbours are searched among all of the
model's movies either way. The famous pairs are bench_franchise's (ml-latest-small, both among the 300 most-rated).
"""
import os, platform, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from _tables import md  # benchmarks/_tables.py (the script's folder is on sys.path)
from bench_franchise import famous_pairs
from movie_recs.data import link_table, load_movielens, read_dbpedia, seed_home
from movie_recs.evaluation import franchise_groups, franchise_recall
from movie_recs.links import LinkEmbeddings

GRID = (0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1)


def halves(groups, ids, seed=0):
    "The franchise groups with 2+ titles among `ids`, split by franchise into (validation, test)."
    g = groups[groups.movie.isin(ids)]
    g = g[g.groupby('franchise').plain.transform('nunique') >= 2]
    names = np.sort(g.franchise.unique())
    val = set(np.random.default_rng(seed).choice(names, len(names) // 2, replace=False))
    return g[g.franchise.isin(val)], g[~g.franchise.isin(val)]


def main():
    torch.set_num_threads(2); load0 = os.getloadavg()[0]
    seed_home(SHARED)
    tags = load_movielens(SHARED/'movielens'/'ml-10M100K-movies-tags.zip').tags
    small = load_movielens('ml-latest-small')
    rows, notes, n_pairs = {}, [], 0
    for cat, movies in [('ml-latest-small', small.movies), ('ml-1m', load_movielens(SHARED/'movielens'/'ml-1m-meta').movies)]:
        t = time.perf_counter()
        m = LinkEmbeddings().fit(link_table(movies, read_dbpedia(), tags=tags).links, movies)
        fit_s = time.perf_counter() - t
        groups = franchise_groups(movies)
        val, test = halves(groups, m.movies.ids)
        pairs = famous_pairs(small, groups) if cat == 'ml-latest-small' else []
        n_pairs = max(n_pairs, len(pairs))
        notes.append(f"{cat}: {len(m.movies):,} movies, {val.franchise.nunique()} validation franchises "
                     f"({len(val)} movies asked), {test.franchise.nunique()} test ({len(test)}); fit {fit_s:.0f} s")
        for w in GRID:
            m.overlap = w
            r = {'val recall@10': franchise_recall(m, val).recall.mean(), 'test recall@10': franchise_recall(m, test).recall.mean()}
            if pairs:
                r['famous pairs found'] = sum(b in set(m.similar(a, 10).movie) for a, b in pairs if m.has_links(a))
            rows[(cat, w)] = r
    t = pd.DataFrame(rows).T.rename_axis(['catalogue', 'overlap'])
    wide = t.unstack('catalogue'); wide.columns = [f'{c} / {k}' for k, c in wide.columns]
    wide = wide.dropna(axis=1, how='all')
    mean = t.groupby(level='overlap')[['val recall@10', 'test recall@10']].mean()
    print(f"# sweep_link_overlap  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"load average at start/end {load0:.1f}/{os.getloadavg()[0]:.1f}\n")
    print('\n'.join(f'- {n}' for n in notes) + f"\n- famous pairs: {n_pairs} ordered pairs of ml-latest-small\n")
    print(md(wide.assign(**{'mean val recall@10': mean['val recall@10'], 'mean test recall@10': mean['test recall@10']}),
             '.3f').replace('.000 |', ' |'))
    best = mean['val recall@10'].max(); pick = min(w for w in GRID if mean.loc[w, 'val recall@10'] >= best - 0.005)
    print(f"\nbest mean validation franchise recall@10: {best:.3f} at overlap={mean['val recall@10'].idxmax()}; the one "
          f"with most embedding within 0.005 of it: overlap={pick} (validation {mean.loc[pick, 'val recall@10']:.3f}, "
          f"test {mean.loc[pick, 'test recall@10']:.3f}; the embedding alone, overlap=0: "
          f"{mean.loc[0, 'val recall@10']:.3f} / {mean.loc[0, 'test recall@10']:.3f}).")


if __name__ == '__main__': main()
