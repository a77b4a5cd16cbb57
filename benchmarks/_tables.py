"Shared by the benchmark scripts: DataFrames as Markdown tables."
import pandas as pd


def md(df, floatfmt='.4f'):
    "A DataFrame as a Markdown table (tuple column names joined with ' / ', missing values left blank)."
    cols = [' / '.join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
    lines = ['| ' + ' | '.join([df.index.name or 'model'] + cols) + ' |', '|---' + '|---:' * len(cols) + '|']
    for i, row in df.iterrows():
        lines.append('| ' + ' | '.join([str(i)] + ['' if pd.isna(v) else format(v, floatfmt) for v in row]) + ' |')
    return '\n'.join(lines)


def link_validation_splits(shared):
    "The link sweeps' validation splits: (catalogue, movies, train, val) for ml-latest-small's and MovieLens 1M's."
    from movie_recs.data import link_table, load_movielens, read_dbpedia, seed_home
    from movie_recs.links import holdout_links
    seed_home(shared)
    tags = load_movielens(shared/'movielens'/'ml-10M100K-movies-tags.zip').tags
    for cat, movies in [('ml-latest-small', load_movielens('ml-latest-small').movies),
                        ('ml-1m', load_movielens(shared/'movielens'/'ml-1m-meta').movies)]:
        yield (cat, movies, *holdout_links(link_table(movies, read_dbpedia(), tags=tags).links, seed=7))
