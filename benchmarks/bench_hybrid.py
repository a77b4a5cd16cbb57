"""Cold-start and warm-movie benchmark of the hybrid (issue 7), all models run in this process on the same splits.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    MOVIE_RECS_HOME=.movie_recs_home python benchmarks/bench_hybrid.py | tee benchmarks/bench_hybrid.txt
The poster CNN is the one saved at <data home>/models/posters (`movie_recs train posters --out ...`); when there is
none it is trained here first (about 6 minutes on two cores).
Cold movies: 5 random cold splits (seeds 0-4), each holding out 10% of the rated movies that have a poster with all
their ratings; for every user who rated a cold movie, the cold movies are ranked and the ones the user rated are
relevant (also shown: only the ones rated 4 or more). Warm movies: the project's fixed 80/20 rating split (RMSE) and
the per-user 75/25 split (nDCG@10), every movie warm.
Targets (issue 7): the hybrid beats popularity by genre, link-only and poster-only on cold movies; on warm movies it is
not worse than collaborative filtering alone beyond noise.
"""
import os, platform, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
torch.set_num_threads(1)
import fastai
from movie_recs import collab
from _tables import md  # benchmarks/_tables.py (the script's folder is on sys.path)
from movie_recs.data import (data_home, fetch, link_table, load_movielens, poster_dir, random_split, read_dbpedia,
                             seed_home, user_split)
from movie_recs.evaluation import evaluate
from movie_recs.hybrid import ContentModel, Hybrid, PopularityByGenre, compare_cold, content_features
from movie_recs.links import LinkEmbeddings
from movie_recs.posters import PosterCNN, check_posters, extract_features, poster_table
from movie_recs.cli import main as movie_recs_cli


def main():
    seed_home(SHARED)
    print(f"# bench_hybrid  python {platform.python_version()}  torch {torch.__version__}  fastai {fastai.__version__}  "
          f"cores {os.cpu_count()}  torch threads 1  load average at start {os.getloadavg()[0]:.1f}\n")
    ml = load_movielens('ml-latest-small')
    lt = link_table(ml.movies, read_dbpedia(fetch('dbpedia-ml1m', show_progress=False)), genres=False)
    links = LinkEmbeddings(epochs=60, show_progress=False).fit(lt.links, ml.movies).movie_vectors()
    pt, _ = check_posters(poster_table(poster_dir(), ml.movies), show_progress=False)
    hist, _ = extract_features(pt, 'histogram', show_progress=False)
    cnn_dir = data_home()/'models'/'posters'
    if not (cnn_dir/'model.json').exists():
        movie_recs_cli(['train', 'posters', '--out', str(cnn_dir), '--movies', str(SHARED/'movielens'/'ml-1m-meta')])
    cnn = PosterCNN.load(cnn_dir).movie_vectors()
    fh, fc = content_features(ml.movies, links, hist), content_features(ml.movies, links, cnn)
    pool = np.intersect1d(pt.movie, ml.ratings.movie)
    print(f"cold pool: {len(pool):,} rated movies with a poster ({len(np.intersect1d(pool, links.ids)):,} of them with "
          f"DBpedia links); each split holds out {round(0.1 * len(pool))} of them\n")
    kw = dict(show_progress=False)
    models = {'popularity by genre': PopularityByGenre(ml.movies),
              'links only': ContentModel(fh, blocks=['links'], **kw),
              'poster only (colour histogram)': ContentModel(fh, blocks=['poster'], **kw),
              'poster only (poster CNN)': ContentModel(fc, blocks=['poster'], **kw),
              'genres + year only': ContentModel(fh, blocks=['genres', 'year'], **kw),
              'hybrid: all content (histogram posters)': ContentModel(fh, **kw),
              'hybrid: all content (CNN posters)': ContentModel(fc, **kw)}
    for mr, what in [(None, 'every cold movie the user rated is relevant'), (4, 'only cold movies rated 4 or more are relevant')]:
        t = compare_cold(models, ml.ratings, pool, splits=5, min_rating=mr, show_progress=False)
        base = t.loc['popularity by genre', ('ndcg', 'mean')]
        t[('ndcg', 'x popularity by genre')] = t[('ndcg', 'mean')] / base
        print(f"## Cold movies, 5 splits, mean and std ({what})\n\n{md(t)}\n")

    rating, topn, rows = random_split(ml.ratings), user_split(ml.ratings, 0.25, seed=42), {}
    warm = {'mf': (lambda: collab.make_model('mf', **kw), 'rating topn'),
            'best CF for ratings: blend (BPMF + MF)': (lambda: collab.make_model('best', **kw), 'rating'),
            'best CF for top-N: topn (EASE)': (lambda: collab.make_model('topn', **kw), 'topn'),
            'hybrid (cf=mf, CNN posters)': (lambda: Hybrid(fc, lt.links, **kw), 'rating topn'),
            'hybrid (cf=mf, ranker=EASE, CNN posters)': (lambda: Hybrid(fc, lt.links, ranker='topn', **kw), 'topn'),
            'hybrid (cf=best blend, CNN posters)': (lambda: Hybrid(fc, lt.links, cf='best', **kw), 'rating')}
    for name, (make, kinds) in warm.items():
        r = {}
        if 'rating' in kinds: e = evaluate(make(), rating); r |= {'rmse': e['rmse'], 'fit s (rating)': e['fit_seconds']}
        if 'topn' in kinds: e = evaluate(make(), topn); r |= {'ndcg@10': e['ndcg'], 'recall@10': e['recall'], 'fit s (top-N)': e['fit_seconds']}
        rows[name] = r
    w = pd.DataFrame(rows).T[['rmse', 'ndcg@10', 'recall@10', 'fit s (rating)', 'fit s (top-N)']]
    print(f"## Warm movies (fixed 80/20 split for RMSE; per-user 75/25 split for nDCG@10)\n\n{md(w)}\n")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == '__main__': main()
