"Link embeddings: known-answer graphs, parsers, every bad-input error, save/load and the command line."
import json, math

import numpy as np
import pandas as pd
import pytest
import torch

from movie_recs.core import MovieVectors, Split, load
from movie_recs.download import fetch, seed_home
from movie_recs.links import (LinkEmbeddings, LinkNet, PairSet, TasteRanker, attribute_regression, evaluate_taste,
                              holdout_links, link_pairs, link_prediction, pair_keys, parse_gross, parse_percent,
                              sample_negatives, taste_scores, train_link_net, wikipedia_attributes)


def communities(n=15, per_movie=8, n_links=15, seed=0):
    "Two communities: movies 0..n-1 link only to links a*, movies n..2n-1 only to links b*."
    rng = np.random.default_rng(seed)
    rows = [(c * n + i, f'{"ab"[c]}{j}', 'starring') for c in range(2) for i in range(n)
            for j in rng.choice(n_links, per_movie, replace=False)]
    titles = pd.DataFrame({'movie': np.arange(2 * n), 'title': [f'Movie {i} ({1990 + i})' for i in range(2 * n)],
                           'year': np.arange(1990, 1990 + 2 * n)})
    return pd.DataFrame(rows, columns=['movie', 'link', 'kind']), titles


SMALL = dict(n_factors=16, epochs=120, batch_size=32, negative_ratio=4, block=8, min_count=1, seed=0, show_progress=False)


@pytest.fixture(scope='module')
def fitted():
    links, titles = communities()
    return LinkEmbeddings(**SMALL).fit(links, titles), links, titles


def test_separates_two_communities(fitted):
    m, links, _ = fitted
    u = m.movie_unit; c = np.array([m.movies.ids[i] >= 15 for i in range(len(u))])
    sim = u @ u.T
    same = sim[c[:, None] == c[None, :]].mean(); other = sim[c[:, None] != c[None, :]].mean()
    assert same > other + 0.3, (same, other)  # logistic loss (default): about 0.38 and -0.01; squared error: 0.76 and 0.08
    for q in range(30):  # every movie's nearest neighbours are in its own community
        assert (m.similar_movies(q, n=5).movie >= 15).eq(q >= 15).all()
    assert set(m.similar_links('a0', n=5).link.str[0]) == {'a'}


@pytest.mark.parametrize('negatives', ['block', 'independent'])
def test_heldout_auc_above_09(negatives):
    links, titles = communities(per_movie=13)  # dense communities: few within-community non-pairs among negatives
    train, test = holdout_links(links, test_frac=0.15, min_count=1, seed=3)
    m = LinkEmbeddings(**SMALL | dict(negatives=negatives)).fit(train, titles)
    lp = link_prediction(m, test)
    assert lp.loc['embedding', 'auc'] > 0.9
    assert lp.loc['embedding', 'auc'] > lp.loc['popularity', 'auc']
    assert lp.attrs['scored'] > 10


def test_seeded_and_deterministic():
    links, titles = communities()
    a = LinkEmbeddings(**SMALL | dict(epochs=5)).fit(links, titles)
    b = LinkEmbeddings(**SMALL | dict(epochs=5)).fit(links, titles)
    c = LinkEmbeddings(**SMALL | dict(epochs=5, seed=1)).fit(links, titles)
    np.testing.assert_array_equal(a.movie_emb, b.movie_emb)
    assert not np.allclose(a.movie_emb, c.movie_emb)


@pytest.mark.parametrize('max_bytes', [2**28, 0])  # bit table, and binary search in sorted keys
def test_negatives_are_never_true_pairs(max_bytes):
    g = torch.Generator().manual_seed(0)
    m, l = torch.randint(50, (2000,), generator=g), torch.randint(40, (2000,), generator=g)
    ps = PairSet(pair_keys(m, l, 40), 50 * 40, max_bytes)  # about 63% of all pairs are true: many rejections
    assert len(ps) == len(torch.unique(pair_keys(m, l, 40)))
    nm, nl = sample_negatives(ps, 50, 40, 50_000, g)
    assert not ps.contains(pair_keys(nm, nl, 40)).any()
    assert len(torch.unique(pair_keys(nm, nl, 40))) == 50 * 40 - len(ps)  # every non-pair reachable


def test_pair_set_bit_table_matches_python_set():
    g = torch.Generator().manual_seed(1)
    keys = torch.randint(10_000, (3000,), generator=g)
    q = torch.arange(10_000)
    want = torch.tensor([k in set(keys.tolist()) for k in q.tolist()])
    assert torch.equal(PairSet(keys, 10_000).contains(q), want)
    assert torch.equal(PairSet(keys, 10_000, max_bytes=0).contains(q.reshape(100, 100)), want.reshape(100, 100))
    assert not PairSet(torch.tensor([], dtype=torch.long), 10, max_bytes=0).contains(torch.arange(10)).any()


def test_rare_links_dropped_and_vocab_by_name():
    links = pd.DataFrame({'movie': [1, 1, 2, 3, 4, 4], 'link': ['X', 'X', 'X', 'X', 'Y', 'Y'],
                          'kind': ['director', 'writer', 'producer', 'director', 'starring', 'starring']})
    p = link_pairs(links)
    assert p.values.tolist() == [[1, 'X'], [2, 'X'], [3, 'X']]
    m = LinkEmbeddings(epochs=1, n_factors=4).fit(links)
    assert m.links.ids.tolist() == ['X'] and m.kinds.tolist() == ['director, producer, writer']
    assert m.counts.tolist() == [3]


@pytest.mark.parametrize('gross, value', [
    ('$783.1 million', 783.1e6), ('$1.2 billion', 1.2e9), ('$12,345,678', 12345678.0), ('US$ 45 million', 45e6),
    ('$45.3–50 million[2]', 45.3e6), ('approximately $5.6 million', 5.6e6), ('$2,000 thousand', 2e6),
    ('$1.2&nbsp;billion', 1.2e9), ('USD 3.5 million', math.nan), ('£12 million', math.nan), ('N/A', math.nan),
    ('', math.nan), (None, math.nan), ('$', math.nan), ('$0', math.nan), ('unknown ($7 million est.)', math.nan),
    (12.5, math.nan)])
def test_parse_gross(gross, value):
    got = parse_gross(gross)
    assert (math.isnan(got) and math.isnan(value)) or got == pytest.approx(value)


@pytest.mark.parametrize('s, value', [('84%', 84.0), (' 100 % ', 100.0), ('7.5%', 7.5), ('101%', math.nan),
                                      ('84', math.nan), ('7.2/10', math.nan), (None, math.nan), ('%', math.nan)])
def test_parse_percent(s, value):
    got = parse_percent(s)
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_unknown_names(fitted):
    m, _, _ = fitted
    with pytest.raises(KeyError, match='Unknown movie id 999'):
        m.similar_movies(999)
    with pytest.raises(KeyError, match="Unknown link 'a11x'. Closest links: a11"):
        m.similar_links('a11x')
    with pytest.raises(KeyError, match="Unknown link 'zzzz'") as e:
        m.similar_links('zzzz')
    assert 'np.' not in str(e.value), e.value  # ids print as plain values, not numpy reprs
    assert m.similar_links('A1', n=2).equals(m.similar_links('a1', n=2))  # case-insensitive when unique
    with pytest.raises(KeyError, match=r'Closest titles: .*Movie 1 \(1991\)'):
        m.similar_movies('Movie 1 (1999)')


def test_ambiguous_link_case():
    links = pd.DataFrame({'movie': [1, 2, 3, 1, 2, 3], 'link': ['Meg Ryan'] * 3 + ['meg ryan'] * 3})
    m = LinkEmbeddings(epochs=1, n_factors=4).fit(links)
    with pytest.raises(KeyError, match='could be Meg Ryan; meg ryan'):
        m.similar_links('MEG RYAN')
    assert m.similar_links('meg ryan', n=1).link.tolist() == ['Meg Ryan']


def test_bad_inputs():
    links, titles = communities()
    with pytest.raises(ValueError, match="missing column"):
        LinkEmbeddings().fit(links.rename(columns={'link': 'page'}))
    with pytest.raises(ValueError, match='No link is shared by 3 or more movies'):
        LinkEmbeddings().fit(links.iloc[:2])
    with pytest.raises(ValueError, match="'block' or 'independent'"):
        LinkEmbeddings(negatives='hard', min_count=1).fit(links)
    with pytest.raises(ValueError, match='No pairs to train on'):
        train_link_net(LinkNet(2, 2, 4), torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match='test_frac must be between 0 and 1'):
        holdout_links(links, test_frac=1.5)
    with pytest.raises(ValueError, match='missing column'):
        LinkEmbeddings().fit(links, titles.drop(columns='title'))


def test_link_prediction_nothing_to_score(fitted):
    m, _, _ = fitted
    with pytest.raises(ValueError, match='No hidden pair'):
        link_prediction(m, pd.DataFrame({'movie': [999], 'link': ['a1']}))


def test_taste(fitted):
    m, _, _ = fitted
    v = m.movie_vectors()
    s = taste_scores(v, liked=[0, 1, 2], disliked=[15, 16])
    assert s[v.vocab.index(np.arange(3, 15))].min() > s[v.vocab.index(np.arange(17, 30))].max()
    only_liked = taste_scores(v, liked=[20, 21])
    assert only_liked[v.vocab.index(np.arange(15, 30))].min() > only_liked[v.vocab.index(np.arange(15))].max()
    lr = taste_scores(v, liked=[0, 1], disliked=[15], method='logreg')
    assert lr[v.vocab.index(5)] > lr[v.vocab.index(25)]
    ranked = m.taste(['Movie 0 (1990)', 3], ['Movie 20 (2010)'])
    assert len(ranked) == 27 and (ranked.movie.head(13) < 15).all()
    with pytest.raises(ValueError, match="'svm' or 'logreg'"):
        taste_scores(v, [0], [15], method='knn')
    with pytest.raises(ValueError, match='at least one liked or disliked'):
        taste_scores(v, [], [])
    with pytest.raises(KeyError, match='Unknown movie id 999'):
        taste_scores(v, [999], [0])


def test_evaluate_taste_known_answer(fitted):
    m, _, _ = fitted
    # user 1 likes community a and holds out a community-a movie; user 2 the same for community b
    train = pd.DataFrame({'user': [1, 1, 1, 2, 2, 2], 'movie': [0, 1, 20, 16, 17, 2], 'rating': [5, 5, 1, 5, 4, 1.]})
    test = pd.DataFrame({'user': [1, 2], 'movie': [5, 25], 'rating': [5., 5.]})
    r = evaluate_taste(m.movie_vectors(), Split(train, test), k=13, show_progress=False)
    assert r.loc['taste', 'hit_rate'] == 1.0 and r.loc['taste', 'users'] == 2
    assert r.loc['taste', 'ndcg'] > r.loc['popularity', 'ndcg']


def test_attribute_regression(fitted):
    m, _, _ = fitted
    v = m.movie_vectors()
    target = pd.Series(np.where(v.ids >= 15, 4.0, 2.0) + np.random.default_rng(0).normal(0, 0.1, len(v)), index=v.ids)
    r = attribute_regression(v, target, alpha=0.1)
    assert r['mse'] < 0.2 * r['baseline_mse'] and r['n_train'] + r['n_test'] == 30
    with pytest.raises(ValueError, match='only 3 movies'):
        attribute_regression(v, pd.Series([1., 2., 3., np.nan], index=[0, 1, 2, 3], name='gross'))


def test_wikipedia_attributes(tmp_path, shared):
    from movie_recs.data import load_movielens, read_wikipedia
    movies = load_movielens(shared/'movielens'/'ml-1m-meta').movies
    lines = [['Toy Story', {'gross': '$373.6 million'}, [], '100%', None],
             ['Alien (film)', {'gross': 'unknown'}, [], 'n/a', None],
             ['No Such Film Anywhere', {'gross': '$1 billion'}, [], '50%', None]]
    (tmp_path/'wp.ndjson').write_text('\n'.join(json.dumps(l) for l in lines))
    wa = wikipedia_attributes(read_wikipedia(tmp_path/'wp.ndjson'), movies)
    assert wa.index.tolist() == [1, 1214]
    assert wa.loc[1, 'rotten_tomatoes'] == 100 and wa.loc[1, 'log10_gross'] == pytest.approx(np.log10(373.6e6))
    assert wa.loc[1214].isna().all()


def test_save_load_round_trip(fitted, tmp_path):
    m, _, _ = fitted
    m.save(tmp_path/'m')
    m2 = load(tmp_path/'m')
    assert type(m2) is LinkEmbeddings and not (m2.ranks or m2.predicts_ratings or m2.folds_in) and m2.has_vectors
    np.testing.assert_array_equal(m2.movie_emb, m.movie_emb)
    np.testing.assert_array_equal(m2.link_emb, m.link_emb)
    assert m2.get_params() == m.get_params() and m2.links.ids.tolist() == m.links.ids.tolist()
    pd.testing.assert_frame_equal(m2.similar_movies('Movie 3 (1993)'), m.similar_movies('Movie 3 (1993)'))
    pd.testing.assert_frame_equal(m2.similar_links('a1'), m.similar_links('a1'))
    pd.testing.assert_frame_equal(m2.titles, m.titles)
    meta = json.loads((tmp_path/'m'/'model.json').read_text())
    assert meta['kind'] == 'links' and meta['version'] == 1 and meta['params']['n_factors'] == 16
    with np.load(tmp_path/'m'/'weights.npz', allow_pickle=False) as z: assert z['link_names'].dtype.kind == 'U'
    mv = m2.movie_vectors(); assert isinstance(mv, MovieVectors) and mv.name == 'links'
    assert MovieVectors.load(tmp_path/'m'/'movie_vectors.npz').ids.tolist() == mv.ids.tolist()


def test_model_saved_before_the_logistic_loss_says_it_was_trained_with_squared_error(fitted, tmp_path):
    m, _, _ = fitted
    assert m.loss == 'logistic'
    m.save(tmp_path/'m'); meta = json.loads((tmp_path/'m'/'model.json').read_text())
    old = {k: v for k, v in meta['params'].items() if k not in ('loss', 'logit_scale')}
    (tmp_path/'m'/'model.json').write_text(json.dumps(meta | {'params': old}))
    m2 = load(tmp_path/'m')
    assert m2.loss == 'mse' and m2.get_params()['loss'] == 'mse'
    pd.testing.assert_frame_equal(m2.similar_movies('Movie 3 (1993)'), m.similar_movies('Movie 3 (1993)'))


def test_unknown_loss_is_refused_before_training():
    links, titles = communities()
    with pytest.raises(ValueError, match="loss must be 'logistic' or 'mse', got 'hinge'"):
        LinkEmbeddings(**SMALL | dict(loss='hinge')).fit(links, titles)


def test_failed_save_keeps_old_model(fitted, tmp_path, monkeypatch):
    m, _, _ = fitted
    m.save(tmp_path/'m'); before = (tmp_path/'m'/'weights.npz').read_bytes()
    monkeypatch.setattr(np, 'savez', lambda *a, **k: (_ for _ in ()).throw(OSError('disk full')))
    with pytest.raises(OSError, match='disk full'): m.save(tmp_path/'m')
    assert (tmp_path/'m'/'weights.npz').read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['m']  # no temporary folder left behind


def test_load_errors(fitted, tmp_path):
    m, _, _ = fitted
    with pytest.raises(FileNotFoundError, match='no model.json'):
        load(tmp_path)
    ratings = pd.DataFrame({'user': [1, 1, 2], 'movie': [0, 20, 16], 'rating': [5., 1., 5.]})
    TasteRanker(m.movie_vectors()).fit(ratings).save(tmp_path/'taste')
    with pytest.raises(ValueError, match="holds a 'taste' model, not a LinkEmbeddings"):
        LinkEmbeddings.load(tmp_path/'taste')
    m.save(tmp_path/'m'); meta = json.loads((tmp_path/'m'/'model.json').read_text())
    (tmp_path/'m'/'model.json').write_text(json.dumps(meta | {'kind': 'collab'}))
    with pytest.raises(ValueError, match="model kind 'collab'"):
        load(tmp_path/'m')
    (tmp_path/'m'/'model.json').write_text(json.dumps(meta | {'version': 7}))
    with pytest.raises(ValueError, match='version 7'):
        load(tmp_path/'m')


@pytest.fixture(scope='module')
def home(tmp_path_factory, shared, ml10m_mirror):
    "Seeded from the local copy, plus ml-10m (its movies and tags: `train links`' default tags) from a local mirror."
    h = tmp_path_factory.mktemp('home'); seed_home(shared, h)
    fetch('ml-10m', h, mirror=ml10m_mirror, show_progress=False)
    return h


def test_cli_train_and_similar(home, shared, tmp_path, cli):
    rc, msg, err = cli.run('--home', home, 'train', 'links', '--out', tmp_path/'model',
                           '--movies', shared/'movielens'/'ml-1m-meta', '--epochs', 2)
    assert rc == 0 and 'saved' in msg and (tmp_path/'model'/'model.json').exists(), err
    m = load(tmp_path/'model')
    rc, text, _ = cli.run('similar', '--model', tmp_path/'model', '--movie', 'Star Wars (1977)', '-n', 5)
    lines = text.splitlines()
    assert rc == 0 and lines[0].split() == ['movie', 'title', 'score', 'rank'] and len(lines) == 6
    assert 'A New Hope' not in text  # the movie asked about (Star Wars: Episode IV - A New Hope) is not its own neighbour
    assert [int(l.split()[0]) for l in lines[1:]] == m.similar(260, 5).movie.tolist()
    rc, text, _ = cli.run('similar', '--model', tmp_path/'model', '--link', 'George Lucas', '-n', 4, '--json')
    js = json.loads(text)
    assert rc == 0 and len(js) == 4 and all(-1 <= r['score'] <= 1 for r in js)
    assert 'George Lucas' not in [r['link'] for r in js]
    assert [r['rank'] for r in js] == [1, 2, 3, 4]
    rc, text, _ = cli.run('similar', '--model', tmp_path/'model', '--movie', 260, '-n', 2, '--json')
    js = json.loads(text)
    assert rc == 0 and len(js) == 2 and 260 not in [r['movie'] for r in js]
    assert set(js[0]) == {'movie', 'title', 'score', 'rank'}
    cli.fails('exactly one of --movie .*or --link', 'similar', '--model', tmp_path/'model')
    cli.fails('exactly one of --movie .*or --link', 'similar', '--model', tmp_path/'model', '--movie', 'x', '--link', 'y')
    cli.fails('Closest links: George Lucas', 'similar', '--model', tmp_path/'model', '--link', 'George Lukas')
    cli.fails('no model.json', 'similar', '--model', tmp_path, '--movie', 'Star Wars (1977)')


def test_cli_default_catalogue_and_wikipedia_dump(home, shared, tmp_path, cli):
    rc, msg, err = cli.run('--home', home, 'train', 'links', '--out', tmp_path/'default', '--epochs', 1)
    assert rc == 0 and 'movies' in msg, err  # ml-latest-small + DBpedia + its tags
    titles = ['Toy Story', 'Aladdin (1992 film)', 'The Lion King', 'Pocahontas (1995 film)', 'Mulan (1998 film)',
              'Heat (1995 film)', 'Casino (1995 film)', 'GoodFellas', 'Taxi Driver', 'Cape Fear (1991 film)']
    shared_links = [['Walt Disney Pictures', 'Category:American animated films'],
                    ['Robert De Niro', 'Category:American crime films']]
    lines = [[t, {}, shared_links[i >= 5] + [f'Page {i}'], None, None] for i, t in enumerate(titles)]
    (tmp_path/'wp.ndjson').write_text('\n'.join(json.dumps(l) for l in lines))
    rc, msg, err = cli.run('--home', home, 'train', 'links', '--out', tmp_path/'wiki', '--data', tmp_path/'wp.ndjson',
                           '--movies', shared/'movielens'/'ml-1m-meta', '--epochs', 3)
    assert rc == 0, err
    m = load(tmp_path/'wiki')
    assert 'Robert De Niro' in m.links and 'Walt Disney Pictures' in m.links and 'Page 3' not in m.links
    assert {1, 588, 364, 16}.issubset(set(m.movies.ids.tolist()))  # Toy Story, Aladdin, The Lion King, Casino
    assert 'wikipedia' in m.kinds[m.links.index('Robert De Niro')]
