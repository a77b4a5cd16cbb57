"""Which training loss: the validation search behind LinkEmbeddings' defaults `loss`, `logit_scale`, `negative_ratio`.

Run from the repository root (the data home is seeded from ../shared/data, so nothing is downloaded):
    python benchmarks/sweep_link_loss.py | tee benchmarks/sweep_link_loss.txt
Same validation splits as the other link sweeps (`_tables.link_validation_splits`: the links of ml-latest-small's and
MovieLens 1M's catalogues, `holdout_links(seed=7)`), never bench_links' seed-42 test split. Every setting trains the
default two nets of 120 epochs. The original's loss is the squared error of the cosine to +1 (true link) and -1
(random pair); the logistic loss is softplus of -s*cos (true) and s*cos (random), s = `logit_scale`: a random pair
is pushed below the true ones, not all the way to -1. The rule, fixed before the run: the default is the cheapest
setting within 0.005 of the best mean validation hit rate@10 (a top-10 list is what `similar_links` gives), among
those whose mean validation AUC is within 0.005 of the best AUC. Franchise recall and famous pairs are not looked at.
"""
import os, platform, tempfile, time
from pathlib import Path

import pandas as pd
import torch

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'
os.environ.setdefault('MOVIE_RECS_HOME', tempfile.mkdtemp(prefix='movie_recs_bench_'))
from _tables import link_validation_splits, md  # benchmarks/_tables.py (the script's folder is on sys.path)
from movie_recs.links import LinkEmbeddings, link_prediction

GRID = [('mse', None, 3), ('mse', None, 10), ('logistic', 5.0, 3), ('logistic', 5.0, 10), ('logistic', 10.0, 3),
        ('logistic', 10.0, 10), ('logistic', 10.0, 20), ('logistic', 20.0, 10)]


def main():
    torch.set_num_threads(2); load0 = os.getloadavg()[0]
    rows = {}
    for cat, movies, train, val in link_validation_splits(SHARED):
        for loss, scale, ratio in GRID:
            t = time.perf_counter()
            model = LinkEmbeddings(loss=loss, logit_scale=scale or 10.0, negative_ratio=ratio)
            lp = link_prediction(model.fit(train, movies), val)
            rows[(cat, loss, scale or '', ratio)] = {'val auc': lp.loc['embedding', 'auc'],
                                                     'val hit@10': lp.loc['embedding', 'hit_rate'],
                                                     'fit s': time.perf_counter() - t}
    t = pd.DataFrame(rows).T.rename_axis(['catalogue', 'loss', 'logit_scale', 'negative_ratio'])
    mean = t.groupby(level=['loss', 'logit_scale', 'negative_ratio'], sort=False).mean()
    print(f"# sweep_link_loss  python {platform.python_version()}  torch {torch.__version__}  cores {os.cpu_count()}  "
          f"load average at start/end {load0:.1f}/{os.getloadavg()[0]:.1f}\n")
    wide = t.unstack('catalogue')
    wide.columns = [f'{c} / {m}' for m, c in wide.columns]
    wide = wide.reindex(mean.index)
    print(md(wide.assign(**{'mean val auc': mean['val auc'], 'mean val hit@10': mean['val hit@10'],
                             'mean fit s': mean['fit s']}), '.3f'))
    ok = mean[mean['val auc'] >= mean['val auc'].max() - 0.005]
    near = ok[ok['val hit@10'] >= ok['val hit@10'].max() - 0.005]
    pick = near['fit s'].idxmin()
    old = mean.loc[('mse', '', 3)]
    print(f"\nbest mean validation AUC {mean['val auc'].max():.3f}, best hit rate@10 {mean['val hit@10'].max():.3f}; "
          f"by the rule: loss={pick[0]!r}, logit_scale={pick[1] or '-'}, negative_ratio={pick[2]} "
          f"(AUC {mean.loc[pick, 'val auc']:.3f}, hit rate@10 {mean.loc[pick, 'val hit@10']:.3f}, "
          f"{mean.loc[pick, 'fit s']:.0f} s). The old default (mse, 3 negatives): AUC {old['val auc']:.3f}, "
          f"hit rate@10 {old['val hit@10']:.3f}.")


if __name__ == '__main__': main()
