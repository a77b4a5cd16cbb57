"""How many negatives per true link: the validation search behind LinkEmbeddings' default `negative_ratio=3`.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/sweep_link_negatives.py | tee benchmarks/sweep_link_negatives.txt
The links (DBpedia + the 10M tags + genres) of two catalogues, ml-latest-small's (what `movie_recs train links`
trains on) and MovieLens 1M's (the chapter's and bench_links'), are split with `holdout_links(seed=7)`: a
validation split, never the seed-42 split that bench_links reports. The default is the ratio with the best mean
validation hit rate@10 over both catalogues (a top-10 list is what `similar` and `similar_links` give); the AUC is
shown beside it, and alone it would pick fewer negatives. Franchise recall is not looked at here.
"""
import os, platform, tempfile, time
from pathlib import Path

import pandas as pd
import torch

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from _tables import link_validation_splits, md  # benchmarks/_tables.py (the script's folder is on sys.path)
from movie_recs.links import LinkEmbeddings, link_prediction


def main():
    torch.set_num_threads(2); load0 = os.getloadavg()[0]
    rows = {}
    for cat, movies, train, val in link_validation_splits(SHARED):
        for ratio in (1, 2, 3, 5, 10):
            t = time.perf_counter()
            model = LinkEmbeddings(negative_ratio=ratio, n_models=1, epochs=60, loss='mse')  # the defaults it chose among
            lp = link_prediction(model.fit(train, movies), val)
            rows[(cat, ratio)] = {'val auc': lp.loc['embedding', 'auc'], 'val hit@10': lp.loc['embedding', 'hit_rate'],
                                  'fit s': time.perf_counter() - t}
    t = pd.DataFrame(rows).T.rename_axis(['catalogue', 'negative_ratio'])
    mean = t.groupby(level='negative_ratio').mean()
    print(f"# sweep_link_negatives  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"load average at start/end {load0:.1f}/{os.getloadavg()[0]:.1f}\n")
    wide = t.unstack('catalogue')
    wide.columns = [f'{c} / {m}' for m, c in wide.columns]
    print(md(wide.assign(**{'mean val auc': mean['val auc'], 'mean val hit@10': mean['val hit@10']}), '.3f'))
    print(f"\nbest mean validation hit rate@10: negative_ratio={int(mean['val hit@10'].idxmax())}; best mean validation "
          f"AUC: negative_ratio={int(mean['val auc'].idxmax())}. The default is 3.")


if __name__ == '__main__': main()
