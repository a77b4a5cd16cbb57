"""Neighbours a fan agrees with: franchise recall@10 of every kind of movie vector, famous sequel pairs, score spread.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/bench_franchise.py | tee benchmarks/bench_franchise.txt
Targets (issue 15): franchise recall@10 of the link vectors clearly above the collaborative vectors' and far above
random; every famous sequel pair found by the default `movie_recs train links`. Franchises come from the titles
(`movie_recs.evaluation.franchise_groups`: a series name shared by different titles), never from a hand-written
list; the famous pairs are the franchise pairs whose two movies are both among the 300 most-rated of
ml-latest-small. Every model runs with its defaults (the link model's `overlap` was chosen on a validation half of
the franchises, benchmarks/sweep_link_overlap.py). The default `train links` fetches ml-10m's tags; here `--tags`
gives it the local copy of that archive, which holds the same tags. The links rows rank by `similar`'s scores
(`LinkEmbeddings.similarity`: shared links and the embedding), and the embedding's cosine alone is shown beside them.
"""
import os, platform, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
TAGS_10M = SHARED/'movielens'/'ml-10M100K-movies-tags.zip'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from _tables import md  # benchmarks/_tables.py (the script's folder is on sys.path)
from movie_recs import collab
from movie_recs.core import MovieVectors, load
from movie_recs.data import data_home, fetch, link_table, load_movielens, poster_dir, read_dbpedia, seed_home
from movie_recs.evaluation import franchise_groups, franchise_recall
from movie_recs.hybrid import ContentModel, content_features
from movie_recs.links import LinkEmbeddings
from movie_recs.posters import check_posters, extract_features, poster_table


def unit(v): return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def joined(a:MovieVectors, b:MovieVectors, name) -> MovieVectors:
    "Two kinds of vectors side by side, each unit length first (so each counts half of the cosine)."
    ids = np.intersect1d(a.ids, b.ids)
    return MovieVectors(ids, np.hstack([unit(a[ids]), unit(b[ids])]), name)


def train_links_cli(out, *extra):
    "`movie_recs train links` as a user runs it; the saved model, and what it printed."
    r = subprocess.run([str(Path(sys.executable).parent/'movie_recs'), 'train', 'links', '--out', str(out), *extra],
                       capture_output=True, text=True, timeout=1200)
    if r.returncode: raise SystemExit(f"movie_recs train links {' '.join(extra)} failed:\n{r.stderr[-3000:]}")
    return load(out), r.stdout.strip().splitlines()


def famous_pairs(ml, groups, top=300):
    "(movie, mate) of one franchise, both among the `top` most-rated movies: the sequels every fan knows."
    pop = ml.ratings.movie.value_counts().head(top).index
    g = groups[groups.movie.isin(pop)]
    return [(a.movie, b.movie) for _, f in g.groupby('franchise') for a in f.itertuples() for b in f.itertuples()
            if a.plain != b.plain]


def spread(v, queries, n=10):
    "Median score of the 1st and the n-th neighbour over `queries`: cosines of `MovieVectors`, or a model's `similarity`."
    if hasattr(v, 'similarity'):
        q = np.intersect1d(queries, v.movies.ids)
        s = np.asarray(v.similarity(q), 'float64'); s[np.arange(len(q)), v.movies.index(q)] = -np.inf
    else:
        U = unit(v.vectors.astype('float64')); pos = v.vocab.index(np.intersect1d(queries, v.ids))
        s = U[pos] @ U.T; s[np.arange(len(pos)), pos] = -np.inf
    s = -np.sort(-s, axis=1)
    return np.median(s[:, 0]), np.median(s[:, n - 1])


def main():
    torch.set_num_threads(2)
    load0 = os.getloadavg()[0]
    seed_home(SHARED)
    print(f"# bench_franchise  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"load average at start {load0:.1f}\n")
    ml = load_movielens('ml-latest-small')
    groups = franchise_groups(ml.movies)
    print(f"ml-latest-small: {groups.franchise.nunique():,} franchises over {len(groups):,} of its {len(ml.movies):,} "
          "movies (series names shared by different titles)\n")

    tmp = Path(tempfile.mkdtemp(prefix='bench_franchise_'))
    t = time.perf_counter(); own, own_out = train_links_cli(tmp/'links-own', '--tags', 'ml-latest-small')
    t_own = time.perf_counter() - t
    t = time.perf_counter(); ten, ten_out = train_links_cli(tmp/'links-10m', '--tags', str(TAGS_10M))
    t_ten = time.perf_counter() - t
    vec = {'links: similar (train links, default: 10M tags)': ten,
           'links: embedding cosine (same model)': ten.movie_vectors(),
           'links: similar (train links --tags ml-latest-small)': own}
    mf = collab.MF(show_progress=False).fit(ml.ratings, ml.movies)
    vec['collaborative (MF, all ratings)'] = mf.movie_vectors()
    ease = collab.EASE().fit(ml.ratings, ml.movies)
    vec['collaborative (EASE item weights)'] = ease.movie_vectors()
    pt, _ = check_posters(poster_table(poster_dir(), ml.movies), show_progress=False)
    vec['posters (EfficientNet-Lite0 features, centred)'] = extract_features(
        pt, 'efficientnet_lite0', data_home()/'poster_features', show_progress=False)[0].centred()
    torch.set_num_threads(1)
    feats = content_features(ml.movies, vec['links: embedding cosine (same model)'],
                             vec['posters (EfficientNet-Lite0 features, centred)'])
    content = ContentModel(feats, show_progress=False).fit(ml.ratings, ml.movies).movie_vectors()
    vec['hybrid content (ContentModel: links, posters, genres, year)'] = content
    vec['hybrid (MF + content vectors, each unit length)'] = joined(vec['collaborative (MF, all ratings)'], content, 'hybrid')
    pool = own.movies.ids
    for v in vec.values(): pool = np.intersect1d(pool, v.movies.ids if hasattr(v, 'similarity') else v.ids)
    vec['random'] = MovieVectors(pool, np.random.default_rng(0).normal(size=(len(pool), 32)), 'random')

    rows = {}
    for name, v in vec.items():
        common, alone = franchise_recall(v, groups, 10, pool), franchise_recall(v, groups, 10)
        first, tenth = spread(v, pool)
        rows[name] = {'movies': len(v.movies.ids) if hasattr(v, 'similarity') else len(v),
                      'recall@10, common pool': common.recall.mean(),
                      'queries (common)': len(common), 'recall@10, own movies': alone.recall.mean(),
                      'queries (own)': len(alone), 'median score 1st': first, 'median score 10th': tenth}
    tab = pd.DataFrame(rows).T
    base = tab.loc['collaborative (MF, all ratings)', 'recall@10, common pool']
    tab['x MF (common pool)'] = tab['recall@10, common pool'] / base
    print(f"## Franchise recall@10 ({len(pool):,} movies in every model's vocabulary: the common pool, searched and "
          "asked within it; 'own movies': each model over all of its own movies)\n")
    print(md(tab.astype(float), '.3f').replace('.000 |', ' |'))
    lk = tab.loc['links: similar (train links, default: 10M tags)', 'recall@10, common pool']
    print(f"\ntarget: link vectors clearly above the collaborative vectors' and far above random: "
          f"{lk:.3f} vs {base:.3f} (MF) vs {tab.loc['random', 'recall@10, common pool']:.3f} (random): "
          f"{'met' if lk > 1.5 * base and lk > 20 * max(tab.loc['random', 'recall@10, common pool'], 1e-3) else 'NOT met'}\n")

    pairs = famous_pairs(ml, groups)
    print(f"## Famous sequel pairs ({len(pairs)} ordered pairs of one franchise, both among the 300 most-rated movies): "
          "is the second among the first's 10 neighbours?\n")
    res = {}
    flat = load(tmp/'links-10m'); flat.overlap = 0.0
    for name, m in [('train links (default: 10M tags)', ten), ('the same model, embedding cosine alone (overlap=0)', flat),
                    ('train links --tags ml-latest-small', own)]:
        found, lines = 0, []
        for a, b in pairs:
            ta, tb = ml.movies.set_index('movie').title[[a, b]]
            if not m.has_links(a): lines.append(f"  - {ta} -> {tb}: {ta} has only genre links (similar refuses it)"); continue
            ok = b in set(m.similar(a, 10).movie); found += ok
            if not ok: lines.append(f"  - {ta} -> {tb}: not in the top 10" + ('' if m.has_links(b) else ' (it has only genre links)'))
        res[name] = found
        print(f"- {name}: {found} of {len(pairs)} found; missed:")
        print('\n'.join(lines) or '  (none)')
    print(f"\n`movie_recs train links` took {t_own:.0f} s (ml-latest-small tags) and {t_ten:.0f} s (10M tags); it printed:")
    for out in (own_out, ten_out): print('    ' + '\n    '.join(out))
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == '__main__': main()
