"Collaborative filtering: known answers, save/load, fold-in, seen-item exclusion and every command-line error path."
import json

import numpy as np
import pandas as pd
import pytest
import torch

from movie_recs import core
from movie_recs.collab import BPMF, EASE, IALS, MF, BayesFM, Blend, FastaiMF, NeuralMF, choose_model, make_model
from movie_recs.core import TooLarge
from movie_recs.core import load, taste_groups

torch.set_num_threads(1)
SMALL = dict(
    mf=lambda: MF(n_factors=8, lr=0.05, reg=0.01, batch_size=64, epochs=40, valid_frac=0, show_progress=False),
    nn=lambda: NeuralMF(n_factors=8, hidden=16, dropout=0, lr=0.02, reg=0.01, batch_size=64, epochs=40, valid_frac=0,
                        show_progress=False),
    bpmf=lambda: BPMF(n_factors=4, samples=30, show_progress=False),
    ease=lambda: EASE(lam=1.0, min_rating=4),
    ials=lambda: IALS(n_factors=4, reg=1.0, alpha=10, min_rating=4),
    blend=lambda: Blend(bpmf=dict(n_factors=4, samples=30),
                        mf=dict(n_factors=8, lr=0.05, reg=0.01, batch_size=64, epochs=40), show_progress=False),
    fastai=lambda: FastaiMF(n_factors=8, epochs=10, lr=0.05, batch_size=64, show_progress=False),
    fm=lambda: BayesFM(n_factors=4, samples=40, show_progress=False),
)


@pytest.fixture(scope='module')
def tg(): return taste_groups()


@pytest.fixture(scope='module')
def fitted(tg):
    return {k: make().fit(tg[0]) for k, make in SMALL.items()}


@pytest.fixture
def ml_dir(tmp_path, tg):
    "The taste groups as a MovieLens-latest-format folder, with titles 'Movie N (2000)'."
    d = tmp_path/'ml'; d.mkdir()
    tg[0].rename(columns={'user': 'userId', 'movie': 'movieId'}).to_csv(d/'ratings.csv', index=False)
    pd.DataFrame({'movieId': range(1, 21), 'title': [f'Movie {i} (2000)' for i in range(1, 21)],
                  'genres': 'Drama'}).to_csv(d/'movies.csv', index=False)
    return d


@pytest.fixture
def ratings_file(tmp_path, tg):
    f = tmp_path/'train.csv'; tg[0][['user', 'movie', 'rating']].to_csv(f, index=False, header=False)
    return f


# --- known answers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', ['mf', 'bpmf', 'ease', 'ials', 'blend', 'nn', 'fm'])
def test_held_out_favourite_comes_first(fitted, tg, kind):
    recs = fitted[kind].recommend(n=1)
    assert (recs[['user', 'movie']].to_numpy() == tg[1].to_numpy()).all()


@pytest.mark.parametrize('kind', ['mf', 'bpmf', 'nn', 'fastai', 'fm'])
def test_two_taste_groups_are_separated(fitted, kind):
    m, users, movies = fitted[kind], np.repeat(np.arange(1, 41), 20), np.tile(np.arange(1, 21), 40)
    p = m.predict(users, movies).reshape(40, 20)
    own = (np.arange(40)[:, None] < 20) == (np.arange(20)[None] < 10)
    assert p[own].min() > p[~own].max()


@pytest.mark.parametrize('kind', ['mf', 'bpmf', 'ease', 'ials', 'fm'])
def test_similar_movies_are_from_the_same_group(fitted, kind):
    assert fitted[kind].similar(1, n=5).movie.between(2, 10).all()
    assert fitted[kind].similar(15, n=5).movie.between(11, 20).all()


def test_training_is_deterministic(tg):
    a, b = SMALL['mf']().fit(tg[0]), SMALL['mf']().fit(tg[0])
    np.testing.assert_array_equal(a.predict(tg[0].user, tg[0].movie), b.predict(tg[0].user, tg[0].movie))


def test_early_stopping_uses_a_validation_part_of_train(tg):
    m = MF(n_factors=8, lr=0.05, reg=0.01, batch_size=64, epochs=15, valid_frac=0.2, show_progress=False).fit(tg[0])
    assert m.history.valid_rmse.notna().all() and 1 <= m.best_epoch <= 15
    assert m.best_epoch == int(m.history.epoch[m.history.valid_rmse.idxmin()])


def test_abilities_are_declared_honestly(fitted):
    for kind, m in fitted.items():
        assert m.kind == kind and m.ranks and m.folds_in, kind
        assert m.predicts_ratings == (kind not in ('ease', 'ials')), kind
    with pytest.raises(NotImplementedError, match=r"EASE \('ease'\) cannot predict ratings"):
        fitted['ease'].predict([1], [1])


# --- seen items, unknown ids ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', list(SMALL))
def test_recommend_excludes_seen_movies(fitted, tg, kind):
    recs = fitted[kind].recommend(n=5)
    assert len(recs) and not len(recs.merge(tg[0], on=['user', 'movie']))
    assert len(fitted[kind].recommend([1], n=20, exclude_seen=False)) == 20


def test_unknown_ids(fitted, tg):
    with pytest.raises(KeyError, match='Unknown user id 999'): fitted['mf'].predict([999], [1])
    with pytest.raises(KeyError, match='Unknown movie id 77'): fitted['bpmf'].predict([1], [77])
    with pytest.raises(KeyError, match='Unknown user id 999'): fitted['ease'].recommend([999])
    p = fitted['mf'].predict([999, 1, 999], [1, 77, 77], unknown='mean')
    assert np.isfinite(p).all() and p[0] != p[1]
    assert p[2] == pytest.approx(float(tg[0].rating.mean()))  # both unknown: the mean training rating


# --- fold-in ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', list(SMALL))
def test_fold_in_new_user(fitted, kind):
    r = fitted[kind].recommend_for({1: 5, 2: 4.5, 3: 5, 15: 1, 16: 1}, n=3)
    assert not set(r.movie) & {1, 2, 3, 15, 16}
    assert r.movie.between(4, 10).all(), r
    assert list(r['rank']) == [1, 2, 3]


def test_fold_in_errors(fitted, ml_dir):
    with pytest.raises(ValueError, match='at least one rating'): fitted['mf'].recommend_for({})
    with pytest.raises(KeyError, match='Unknown movie id 77'): fitted['mf'].recommend_for({77: 5})
    m = SMALL['mf']().fit(*_ml(ml_dir))
    assert m.recommend_for({'Movie 1 (2000)': 5, 'Movie 2 (2000)': 5}, n=1).movie.between(3, 10).all()
    with pytest.raises(KeyError, match=r"movie 'Movie 1 \(1999\)'.*Closest titles: Movie 1 \(2000\)"):
        m.recommend_for({'Movie 1 (1999)': 5})


def _ml(d):
    from movie_recs.data import load_movielens
    ml = load_movielens(d); return ml.ratings, ml.movies


# --- save / load ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', list(SMALL))
def test_save_load_round_trip(fitted, tg, tmp_path, kind):
    m = fitted[kind]; m2 = load(m.save(tmp_path/kind))
    assert type(m2) is type(m) and m2.get_params() == m.get_params()
    if m.predicts_ratings:
        np.testing.assert_allclose(m2.predict(tg[0].user, tg[0].movie), m.predict(tg[0].user, tg[0].movie), atol=1e-5)
    np.testing.assert_allclose(m2.scores([1, 21]), m.scores([1, 21]), atol=1e-5)
    pd.testing.assert_frame_equal(m2.recommend(n=3), m.recommend(n=3))
    pd.testing.assert_frame_equal(m2.recommend_for({1: 5, 2: 5}), m.recommend_for({1: 5, 2: 5}), atol=1e-4)
    meta = json.loads((tmp_path/kind/'model.json').read_text())
    assert meta['kind'] == kind and meta['version'] == 1
    with np.load(tmp_path/kind/'weights.npz', allow_pickle=False) as z: assert 'users' in z and 'movies' in z


def test_failed_save_keeps_the_old_model(fitted, tmp_path, monkeypatch):
    path = fitted['mf'].save(tmp_path/'m')
    monkeypatch.setattr(core.np, 'savez', lambda *a, **k: (_ for _ in ()).throw(OSError('disk full')))
    with pytest.raises(OSError, match='disk full'): fitted['bpmf'].save(path)
    assert json.loads((path/'model.json').read_text())['kind'] == 'mf'
    assert [p.name for p in tmp_path.iterdir()] == ['m']


def test_load_errors(tmp_path, fitted):
    with pytest.raises(FileNotFoundError, match='no model.json'): load(tmp_path)
    p = fitted['mf'].save(tmp_path/'m')
    meta = json.loads((p/'model.json').read_text())
    (p/'model.json').write_text(json.dumps(meta | {'kind': 'svd'}))
    with pytest.raises(ValueError, match="model kind 'svd'.*known: .*mf"): load(p)
    (p/'model.json').write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"holds a 'mf' model, not a BPMF"): BPMF.load(p)


# --- the command line -------------------------------------------------------------------------------------------------
def test_make_model():
    assert type(make_model('best')) is BayesFM and type(make_model('topn')) is EASE and type(make_model('fastai')) is FastaiMF
    with pytest.raises(ValueError, match="Unknown model kind 'svd'.*mf, nn"): make_model('svd')


def test_train_and_similar_cli(ml_dir, tmp_path, cli):
    out = tmp_path/'model'
    rc, text, err = cli.run('train', 'collab', '--data', ml_dir, '--out', out, '--model', 'topn')
    assert rc == 0 and 'saved' in text, err
    assert json.loads((out/'model.json').read_text())['kind'] == 'ease'
    assert pd.read_csv(out/'movies.csv').columns.tolist() == ['movie', 'title']
    rc, text, _ = cli.run('similar', '--model', out, '--movie', 'Movie 1 (2000)', '-n', 3)
    assert rc == 0 and 'Movie 1 (2000)' not in text and text.count('(2000)') == 3
    rc, text, _ = cli.run('similar', '--model', out, '--movie', '1', '-n', 4, '--json')
    rows = json.loads(text)
    assert rc == 0 and len(rows) == 4 and 1 not in [r['movie'] for r in rows]
    cli.fails('no model.json', 'similar', '--model', tmp_path, '--movie', 'Movie 1 (2000)')
    cli.fails(r"movie 'Movie 99 \(2000\)'.*Closest titles", 'similar', '--model', out, '--movie', 'Movie 99 (2000)')


def test_train_cli_errors(tmp_path, ratings_file, cli):
    cli.fails("Unknown model kind 'svd'", 'train', 'collab', '--data', ratings_file, '--out', tmp_path/'m',
              '--model', 'svd')
    cli.fails('neither a dataset name', 'train', 'collab', '--data', 'nope', '--out', tmp_path/'m')
    assert not (tmp_path/'m').exists()
    rc, text, err = cli.run('train', 'collab', '--data', ratings_file, '--out', tmp_path/'m', '--model', 'topn')
    assert rc == 0 and 'saved' in text, err


def test_predict_cli(tmp_path, ratings_file, cli):
    test = tmp_path/'test.tsv'
    test.write_text('user\titem\trating\n1\t8\t5\n21\t18\t4.5\n999\t1\t3\n1\t77\t2\n')
    rc, _, err = cli.run('predict', '--model', 'bpmf', '--train', ratings_file, '--test', test, '--out', tmp_path/'p.csv')
    assert rc == 0, err
    p = pd.read_csv(tmp_path/'p.csv')
    assert p.columns.tolist() == ['user', 'movie', 'prediction'] and len(p) == 4 and p.prediction.notna().all()
    assert p.prediction[0] > 4 and p.prediction[1] > 4
    pairs = tmp_path/'pairs.csv'; pairs.write_text('1,8\n21,18\n')
    rc, _, err = cli.run('predict', '--model', 'mf', '--train', ratings_file, '--test', pairs, '--out', tmp_path/'q.csv')
    assert rc == 0 and len(pd.read_csv(tmp_path/'q.csv')) == 2, err
    cli.fails("'ease' model cannot predict ratings", 'predict', '--model', 'topn', '--train', ratings_file,
              '--test', pairs, '--out', tmp_path/'r.csv')
    assert not (tmp_path/'r.csv').exists()


def test_predict_cli_errors(tmp_path, ratings_file, cli):
    bad = tmp_path/'bad.csv'; bad.write_text('user,foo,rating\n1,2,3\n')
    cli.fails(r"missing column\(s\) \['movie'\]", 'predict', '--model', 'mf', '--train', bad, '--test', bad,
              '--out', tmp_path/'o')
    one = tmp_path/'one.csv'; one.write_text('1\n2\n')
    cli.fails('missing column', 'predict', '--model', 'bpmf', '--train', ratings_file, '--test', one,
              '--out', tmp_path/'o')
    cli.fails("Unknown model kind 'svd'", 'predict', '--model', 'svd', '--train', ratings_file, '--test', one,
              '--out', tmp_path/'o')
    cli.fails('no such file', 'predict', '--model', 'mf', '--train', tmp_path/'nope.csv', '--test', one,
              '--out', tmp_path/'o')


def test_recommend_cli(tmp_path, ratings_file, tg, cli):
    path = SMALL['ease']().fit(tg[0]).save(tmp_path/'ease')
    rc, text, err = cli.run('recommend', '--model', path, '--user', 1, '-n', 1)
    assert rc == 0 and text.splitlines()[1].split()[:2] == ['1', str(tg[1].movie[0])], (text, err)
    rc, text, _ = cli.run('recommend', '--model', path, '--user', 1, '--user', 21, '-n', 1, '--json')
    rows = json.loads(text)
    assert [(r['user'], r['movie'], r['rank']) for r in rows] == [(1, tg[1].movie[0], 1), (21, tg[1].movie[20], 1)]
    out = tmp_path/'recs.csv'
    rc, _, err = cli.run('recommend', '--model', 'topn', '--train', ratings_file, '--users', 'all', '-n', 2,
                         '--out', out)
    assert rc == 0, err
    recs = pd.read_csv(out)
    assert recs.columns.tolist() == ['user', 'movie', 'score', 'rank'] and recs.user.nunique() == 40
    assert not len(recs.merge(tg[0], on=['user', 'movie']))


def test_recommend_cli_errors(tmp_path, ratings_file, cli):
    train = ['--model', 'topn', '--train', ratings_file]
    cli.fails('either --user ID.* or --users all', 'recommend', *train)
    cli.fails('either --user ID.* or --users all', 'recommend', *train, '--user', 1, '--users', 'all')
    cli.fails("--users takes 'all'", 'recommend', *train, '--users', 'some')
    cli.fails("'bob'.*(number|numeric)|(number|numeric).*'bob'", 'recommend', *train, '--user', 'bob')
    cli.fails('Unknown user id 999', 'recommend', *train, '--user', 999)
    cli.fails("Unknown model kind 'svd'", 'recommend', '--model', 'svd', '--train', ratings_file, '--user', 1)
    cli.fails('give --train FILE', 'recommend', '--model', 'topn', '--user', 1)


# --- old kinds, size rules and the choice by size --------------------------------------------------------------------
def test_old_topn_folders_load_as_ease(fitted, tmp_path):
    "EASE was saved as kind 'topn' before it had a kind of its own; such folders still load."
    p = fitted['ease'].save(tmp_path/'old')
    meta = json.loads((p/'model.json').read_text())
    (p/'model.json').write_text(json.dumps(meta | {'kind': 'topn'}))
    m = load(p)
    assert type(m) is EASE and m.kind == 'ease'
    pd.testing.assert_frame_equal(m.recommend(n=3), fitted['ease'].recommend(n=3))


def test_choice_by_size(tg, monkeypatch):
    ratings = tg[0]
    m, why = choose_model('topn', ratings, lam=5.0)
    assert type(m) is EASE and m.lam == 5.0 and 'EASE' in why
    monkeypatch.setenv('MOVIE_RECS_MEMORY', '2M')  # too little for EASE's 2 MB of matrices, enough for iALS
    monkeypatch.setattr(EASE, 'memory_needed', lambda self, n, nu, ni: 4 << 20)
    m, why = choose_model('topn', ratings, lam=5.0, n_factors=4)
    assert type(m) is IALS and m.n_factors == 4, why
    assert why.startswith('topn: EASE') and 'needs about 4.0 MB' in why and "using IALS ('ials')" in why, why
    m.fit(ratings)  # the picked model fits under the same limit
    with pytest.raises(TooLarge, match=r"EASE \('ease'\).*Use kind 'ials'"):
        choose_model('ease', ratings)
    with pytest.raises(TooLarge, match=r"Use kind 'ials'"):
        EASE(lam=1.0).fit(ratings)  # every fit refuses up front
    monkeypatch.setenv('MOVIE_RECS_MEMORY', '1K')  # nothing fits: the message names both shortfalls
    with pytest.raises(TooLarge, match=r"topn: neither EASE nor IALS fits\. EASE .* IALS \('ials'\) .* 1\.0 KB"):
        choose_model('topn', ratings)


def test_best_falls_back_to_mf_and_slow_kinds_refuse_by_time(tg, monkeypatch):
    assert type(choose_model('best', tg[0])[0]) is BayesFM
    monkeypatch.setattr(BayesFM, 'max_ratings', 100)
    m, why = choose_model('best', tg[0])
    assert type(m) is MF and 'at most 100 training ratings' in why and "using MF ('mf')" in why, why
    with pytest.raises(TooLarge, match=r"BPMF \('bpmf'\) takes at most 900,000.*Use kind 'mf'"):
        BPMF().check_size(25_000_095, 162_541, 59_047)
    with pytest.raises(TooLarge, match=r"59,047 movies is more than the 25,000.*Use kind 'ials'"):
        choose_model('ease', pd.DataFrame({'user': 1, 'movie': np.arange(59_047), 'rating': 4.0}))
    m, why = choose_model('topn', pd.DataFrame({'user': 1, 'movie': np.arange(59_047), 'rating': 4.0}))
    assert type(m) is IALS and '59,047 movies' in why, why


def test_ials_fold_in_matches_its_own_solution(fitted, tg):
    m, r = fitted['ials'], tg[0]
    liked = {int(x): 5.0 for x in r[(r.user == 1) & (r.rating >= 4)].movie}
    p, _ = m.fold_in(liked)
    np.testing.assert_allclose(p, m.P[0], atol=0.05)


def test_refit_only_up_to_refit_max_ratings(tg, monkeypatch):
    "By default MF refits on all the ratings only for small data; past REFIT_MAX_RATINGS it keeps the early-stopped fit."
    from movie_recs import collab
    assert MF(epochs=2).fit(tg[0]).refitted_
    monkeypatch.setattr(collab, 'REFIT_MAX_RATINGS', 100)
    m = MF(epochs=2).fit(tg[0])
    assert not m.refitted_ and m.refit is None
    assert MF(epochs=2, refit=True).fit(tg[0]).refitted_  # an explicit choice wins


def test_ials_runs_on_the_threads_torch_has(tg, monkeypatch):
    "iALS took every core even inside the demo's one-thread block (issue 18): it now takes torch's thread count."
    import implicit.cpu.als as als
    from movie_recs.collab import one_thread, torch_threads
    seen, real = [], als.AlternatingLeastSquares
    monkeypatch.setattr(als, 'AlternatingLeastSquares', lambda **kw: seen.append(kw['num_threads']) or real(**kw))
    with one_thread(): SMALL['ials']().fit(tg[0])
    with torch_threads(2): SMALL['ials']().fit(tg[0])
    assert seen == [1, 2], seen
