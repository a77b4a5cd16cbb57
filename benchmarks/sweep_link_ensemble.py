"""How many nets and epochs: the validation search behind LinkEmbeddings' defaults `n_models=2, epochs=120`.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/sweep_link_ensemble.py | tee benchmarks/sweep_link_ensemble.txt
Same splits as sweep_link_negatives.py: the links (DBpedia + the 10M tags + genres) of ml-latest-small's catalogue
(what `movie_recs train links` trains on) and MovieLens 1M's, split with `holdout_links(seed=7)`, a validation
split, never bench_links' seed-42 test split. `n_models` nets are trained with seeds 42, 43, ... and a cosine is
the mean of theirs (seed noise averages out: one net's neighbours move by tens of places with the seed). The
default is the setting with the best mean validation hit rate@10 per second of training among those within 0.005
of the best hit rate; AUC is shown beside it. Franchise recall and the famous pairs are not looked at here.
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
        for epochs in (60, 120):
            for n in (1, 2, 4):
                t = time.perf_counter()
                lp = link_prediction(LinkEmbeddings(n_models=n, epochs=epochs, loss='mse').fit(train, movies), val)
                rows[(cat, epochs, n)] = {'val auc': lp.loc['embedding', 'auc'],
                                          'val hit@10': lp.loc['embedding', 'hit_rate'], 'fit s': time.perf_counter() - t}
    t = pd.DataFrame(rows).T.rename_axis(['catalogue', 'epochs', 'n_models'])
    mean = t.groupby(level=['epochs', 'n_models']).mean()
    print(f"# sweep_link_ensemble  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"load average at start/end {load0:.1f}/{os.getloadavg()[0]:.1f}\n")
    wide = t.unstack('catalogue')
    wide.columns = [f'{c} / {m}' for m, c in wide.columns]
    print(md(wide.assign(**{'mean val auc': mean['val auc'], 'mean val hit@10': mean['val hit@10'],
                             'mean fit s': mean['fit s']}), '.3f'))
    best = mean['val hit@10'].max(); near = mean[mean['val hit@10'] >= best - 0.005]
    pick = near['fit s'].idxmin()
    print(f"\nbest mean validation hit rate@10: {best:.3f} at epochs={mean['val hit@10'].idxmax()[0]}, "
          f"n_models={mean['val hit@10'].idxmax()[1]}; the cheapest within 0.005 of it: epochs={pick[0]}, "
          f"n_models={pick[1]} ({near.loc[pick, 'val hit@10']:.3f}, {near.loc[pick, 'fit s']:.0f} s). "
          f"One net, 60 epochs (the old default): {mean.loc[(60, 1), 'val hit@10']:.3f}, "
          f"AUC {mean.loc[(60, 1), 'val auc']:.3f}.")


if __name__ == '__main__': main()
