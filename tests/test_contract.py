"""The model contract (movie_recs.core.Model), checked on every model kind of the package.

One table, `SPECS`, says how to build a small instance of each kind and what to fit it on; every test below runs
over all of them (pytest ids are the class names) and applies where the model's declared abilities say it does
(`predicts_ratings`, `ranks`, `has_vectors`, `folds_in`). A new model is done when it passes this suite:
add a row to `SPECS`. The fixture is `taste_groups()`: two taste groups of users who each love their half of the
movies, one favourite per user held out; the movies' genres, links and posters follow the two groups.
"""
import importlib, inspect, json, os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from movie_recs import core
from movie_recs.core import Model, Split, taste_groups

POSTERS = Path(__file__).resolve().parents[2]/'shared'/'data'/'posters'/'ml1m-w185'
N_MOVIES = 20  # movies 1..10 are group A's, 11..20 group B's (taste_groups' halves)
UNKNOWN = 987654  # an id no fixture has


def group(movie) -> np.ndarray:
    "0 for the first taste group's movies, 1 for the second's."
    return (np.asarray(movie) - 1) * 2 // N_MOVIES


# ---------------------------------------------------------------- the fixture
@dataclass
class Fixture:
    ratings: pd.DataFrame  # user, movie, rating, timestamp
    held: pd.DataFrame  # user, movie: each user's held-out favourite
    movies: pd.DataFrame  # movie, title, year, genres (a list)
    links: pd.DataFrame  # movie, link, kind
    posters: pd.DataFrame  # movie, title, genres, path (real ml-1m posters)
    cache: dict = field(default_factory=dict)  # shared fitted parts (link vectors, content features)


def _movies() -> pd.DataFrame:
    ids = np.arange(1, N_MOVIES + 1)
    names = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot', 'Golf', 'Hotel', 'India', 'Juliet',
             'Kilo', 'Lima', 'Mike', 'November', 'Oscar', 'Papa', 'Quebec', 'Romeo', 'Sierra', 'Tango']
    years = 1980 + ids
    genres = [['Comedy', 'Romance'] if g == 0 else ['Horror', 'Thriller'] for g in group(ids)]
    return pd.DataFrame({'movie': ids.astype('int32'), 'title': [f'{n} Story ({y})' for n, y in zip(names, years)],
                         'year': pd.array(years, dtype='Int16'), 'genres': genres})


def _links() -> pd.DataFrame:
    "Each movie links to 4 of its group's 6 pages, plus one page of its own."
    rng, rows = np.random.default_rng(0), []
    for m in range(1, N_MOVIES + 1):
        g = 'ab'[group(m)]
        for j in rng.choice(6, 4, replace=False): rows.append((m, f'{g}_page_{j}', 'starring'))
        rows.append((m, f'own_page_{m}', 'director'))
    return pd.DataFrame(rows, columns=['movie', 'link', 'kind']).astype({'movie': 'int32'})


def _posters(movies) -> pd.DataFrame:
    "The fixture's movie m gets the real poster of ml-1m movie m."
    paths = [POSTERS/f'{m}.jpg' for m in movies.movie]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing: pytest.fail(f"{missing[0]}: poster missing from the shared data (see README).")
    return movies[['movie', 'title', 'genres']].assign(path=[str(p) for p in paths])


@pytest.fixture(scope='session')
def fx() -> Fixture:
    import torch
    torch.set_num_threads(1)  # tiny models: threads only cost (and the test machine is shared)
    ratings, held = taste_groups()
    movies = _movies()
    return Fixture(ratings, held, movies, _links(), _posters(movies))


# ---------------------------------------------------------------- how to build and fit each kind
def _accepted(fn, kw:dict) -> dict:
    "The items of `kw` that `fn` takes (all of them when it takes **kwargs)."
    ps = inspect.signature(fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in ps.values()): return kw
    return {k: v for k, v in kw.items() if k in ps}


def _fit(m, data, fx, **kw):
    "`m.fit(data, movies)` with whatever of `movies`/`show_progress` its `fit` takes."
    return m.fit(data, **_accepted(m.fit, dict(movies=fx.movies, show_progress=False) | kw))


def _fit_ratings(m, fx): return _fit(m, fx.ratings, fx)
def _fit_links(m, fx): return _fit(m, fx.links, fx)
def _fit_posters(m, fx):
    "Train the poster CNN, then embed the posters (its movie vectors come from `embed`)."
    ret = _fit(m, fx.posters, fx)
    m.embed(fx.posters)
    return ret


def _link_vectors(fx):
    "Movie vectors of a small LinkEmbeddings fitted on the fixture's links (shared by the models that need them)."
    if 'link_vectors' not in fx.cache:
        links = importlib.import_module('movie_recs.links')
        m = links.LinkEmbeddings(**_accepted(links.LinkEmbeddings, SMALL['LinkEmbeddings']))
        fx.cache['link_vectors'] = _fit_links(m, fx).movie_vectors()
    return fx.cache['link_vectors']


def _features(fx):
    "Content features (genres, year) of the fixture's movies."
    if 'features' not in fx.cache:
        hybrid = importlib.import_module('movie_recs.hybrid')
        fx.cache['features'] = hybrid.content_features(fx.movies)
    return fx.cache['features']


# Small, fast hyperparameters; every spelling a kind has had is listed, and only those its constructor takes are
# passed (`_accepted`), so a renamed hyperparameter does not break the table.
FAST_MF = dict(n_factors=8, epochs=40, lr=0.05, batch_size=64, bs=64, valid_frac=0.0, patience=40, refit=False)
SMALL = {
    'MF': FAST_MF,
    'NeuralMF': FAST_MF | dict(hidden=16, dropout=0.0),
    'BPMF': dict(n_factors=4, samples=30, burn_in=5),
    'Blend': dict(bpmf=('BPMF', dict(n_factors=4, samples=30, burn_in=5)), mf=('MF', FAST_MF)),  # (kind, its params)
    'BayesFM': dict(n_factors=4, samples=40, burn_in=10),
    'EASE': dict(lam=10.0, min_rating=4.0),  # liked movies only: every user rates most movies of both groups
    'IALS': dict(n_factors=4, iterations=15, min_rating=4.0),
    'FastaiMF': dict(n_factors=8, epochs=5, lr=0.05, batch_size=32, bs=32),
    'LinkEmbeddings': dict(n_factors=8, epochs=40, min_count=2, negative_ratio=4, batch_size=256, lr=0.05),
    'TasteRanker': dict(method='logreg'),
    'PosterFeatures': dict(extractor='histogram', device='cpu'),
    'PosterCNN': dict(arch='tiny', size=32, epochs=1, batch_size=8, bs=8, valid_frac=0.2, valid_pct=0.2, device='cpu'),
    'ContentModel': dict(n_factors=8, epochs=60, lr=0.05),
    'Hybrid': dict(cf='mf', valid_frac=0.2, refit=False, content=dict(n_factors=8, epochs=60, lr=0.05)),
    'PopularityByGenre': {},
    'GlobalMean': {}, 'Biases': {}, 'MostPopular': {}, 'RandomRanker': {},
}


@dataclass
class Spec:
    module: str  # movie_recs.<module>
    cls: str  # class name there
    fit: Callable = _fit_ratings  # (model, fixture) -> what fit returned
    data: Callable = lambda fx: {}  # fixture -> constructor arguments that are data, not hyperparameters
    learns: bool = True  # learns each user's taste: the held-out favourite must come first
    on_ratings: bool = True  # fitted on ratings (so `evaluate` can fit it)
    group_vectors: bool = True  # its movie vectors put a movie next to its own group's movies


SPECS = {
    'MF': Spec('collab', 'MF'),
    'NeuralMF': Spec('collab', 'NeuralMF'),
    'BPMF': Spec('collab', 'BPMF'),
    'Blend': Spec('collab', 'Blend'),
    'BayesFM': Spec('collab', 'BayesFM'),
    'EASE': Spec('collab', 'EASE'),
    'IALS': Spec('collab', 'IALS'),
    'FastaiMF': Spec('collab', 'FastaiMF'),
    'LinkEmbeddings': Spec('links', 'LinkEmbeddings', _fit_links, learns=False, on_ratings=False),
    'TasteRanker': Spec('links', 'TasteRanker', data=lambda fx: dict(vectors=_link_vectors(fx))),
    'PosterCNN': Spec('posters', 'PosterCNN', _fit_posters, learns=False, on_ratings=False, group_vectors=False),
    'PosterFeatures': Spec('posters', 'PosterFeatures', lambda m, fx: _fit(m, fx.posters, fx), learns=False, on_ratings=False,
                           group_vectors=False),
    'ContentModel': Spec('hybrid', 'ContentModel', data=lambda fx: dict(features=_features(fx))),
    'Hybrid': Spec('hybrid', 'Hybrid', data=lambda fx: dict(features=_features(fx), links=fx.links)),
    'PopularityByGenre': Spec('hybrid', 'PopularityByGenre', data=lambda fx: dict(movies=fx.movies), learns=False),
    'GlobalMean': Spec('evaluation', 'GlobalMean', learns=False),
    'Biases': Spec('evaluation', 'Biases', learns=False),
    'MostPopular': Spec('evaluation', 'MostPopular', learns=False),
    'RandomRanker': Spec('evaluation', 'RandomRanker', learns=False),
}


def model_class(kind:str) -> type:
    s = SPECS[kind]
    return getattr(importlib.import_module(f'movie_recs.{s.module}'), s.cls)


def make(kind:str, fx:Fixture):
    "A fresh, unfitted small instance of `kind`."
    cls = model_class(kind)
    small = {k: _accepted(model_class(v[0]), v[1]) if isinstance(v, tuple) and v[0] in SPECS else v
             for k, v in SMALL[kind].items()}  # a part's hyperparameters, spelled as that part's class takes them
    return cls(**_accepted(cls, SPECS[kind].data(fx) | small | dict(seed=0, show_progress=False)))


_fitted = {}  # kind -> (model, what fit returned), shared by the tests of one session


@pytest.fixture(params=list(SPECS), ids=list(SPECS))
def kind(request): return request.param


@pytest.fixture
def fitted(kind, fx):
    "(model, what fit returned), fitted once per session and kind."
    if kind not in _fitted:
        m = make(kind, fx)
        _fitted[kind] = (m, SPECS[kind].fit(m, fx))
    return _fitted[kind]


@pytest.fixture
def model(fitted): return fitted[0]


def _users(m, fx, k=8) -> np.ndarray:
    "A few users from both taste groups."
    return fx.held.user.to_numpy()[np.linspace(0, len(fx.held) - 1, k).astype(int)]


def SPECS_OF(m) -> Spec: return SPECS[type(m).__name__]


def _need(m, ability:str) -> bool:
    "Does the fitted model `m` declare `ability`? (Where it does not, the test checks that it says so instead.)"
    return bool(getattr(m, ability))


# ---------------------------------------------------------------- construction
def test_is_a_registered_model(kind):
    cls = model_class(kind)
    assert issubclass(cls, Model), f"{cls.__module__}.{cls.__name__} does not subclass movie_recs.core.Model."
    assert core.MODELS.get(cls.kind) is cls, f"{cls.__name__} (kind {cls.kind!r}) is not @register-ed in core.MODELS."
    for a in ('predicts_ratings', 'ranks', 'has_vectors', 'folds_in'):
        assert isinstance(getattr(cls, a), bool), f"{cls.__name__}.{a} must be a class attribute True/False."


def test_keyword_only_constructor(kind, fx):
    "Hyperparameters (`_params`) are keyword-only; only data (movie vectors, content features) may come positionally."
    cls = model_class(kind)
    sig = inspect.signature(cls).parameters
    positional = [n for n, p in sig.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    hyper = [n for n in positional if n in cls._params]
    assert not hyper, f"{cls.__name__}.__init__ takes {hyper} positionally; make every hyperparameter keyword-only."
    params, data = make(kind, fx).get_params(), SPECS[kind].data(fx)
    with pytest.raises(TypeError):  # the data arguments, then the first hyperparameter, all positionally
        cls(*[data.get(n) for n in positional], next(iter(params.values())))


def test_params(kind, fx):
    m = make(kind, fx)
    p = m.get_params()
    assert 'seed' in p and p['seed'] == 0, f"{type(m).__name__}.get_params() lacks the seed passed in: {p}"
    assert list(p) == list(type(m)._params), f"get_params() keys {list(p)} differ from _params {type(m)._params}"
    sig = inspect.signature(type(m)).parameters
    assert set(p) <= set(sig), f"{type(m).__name__}._params names {set(p) - set(sig)}, which __init__ does not take."
    clone = type(m)(**p)
    assert clone.get_params() == p, "a model built from get_params() reports different hyperparameters"


def test_fit_returns_self(fitted):
    m, ret = fitted
    assert ret is m, f"{type(m).__name__}.fit returned {type(ret).__name__}, not the model itself."
    assert m.is_fitted, f"{type(m).__name__} after fit has no `movies` vocabulary (is_fitted is False)."


# ---------------------------------------------------------------- ranking
def _check_table(df, n):
    assert list(df.columns) == ['user', 'movie', 'score', 'rank'], f"recommend columns: {list(df.columns)}"
    for u, g in df.groupby('user'):
        assert g['rank'].tolist() == list(range(1, len(g) + 1)), f"user {u}: ranks {g['rank'].tolist()}"
        assert len(g) <= n, f"user {u}: {len(g)} rows for n={n}"
        assert (np.diff(g.score.to_numpy()) <= 0).all(), f"user {u}: scores increase: {g.score.tolist()}"


def test_recommend(model, fx):
    m = model
    if not _need(m, 'ranks'):
        with pytest.raises(NotImplementedError): m.recommend(_users(m, fx), n=3)
        return
    uids, n = _users(m, fx), 3
    df = m.recommend(uids, n=n)
    _check_table(df, n)
    assert set(df.user) == set(uids), f"recommend left out users {set(uids) - set(df.user)}"
    rated = fx.ratings.groupby('user').movie.apply(set)
    cat = set(m.catalogue().tolist())
    for u, g in df.groupby('user'):
        seen = set(g.movie) & rated[u]
        assert not seen, f"user {u}: seen movies {seen} recommended with exclude_seen=True"
        assert len(g) == min(n, len(cat - rated[u])), f"user {u}: {len(g)} rows, expected {min(n, len(cat - rated[u]))}"
    everything = m.recommend(uids[:2], n=len(cat), exclude_seen=False)
    _check_table(everything, len(cat))
    for u, g in everything.groupby('user'):
        assert rated[u] & set(g.movie), f"user {u}: exclude_seen=False still leaves out every seen movie"
        assert len(g) == len(cat), f"user {u}: exclude_seen=False gives {len(g)} of the {len(cat)} catalogue movies"


def test_recommend_all_users_by_default(model, fx):
    if not _need(model, 'ranks'): return
    df = model.recommend(n=1)
    assert set(df.user) == set(fx.ratings.user), "recommend() without uids must cover every training user"


def test_candidates(model, fx):
    m = model
    if not _need(m, 'ranks'): return
    uids = _users(m, fx)
    cands = [3, 5, 12, 18, UNKNOWN]
    df = m.recommend(uids, n=10, candidates=cands, exclude_seen=False)
    _check_table(df, 10)
    assert set(df.movie) <= set(cands) - {UNKNOWN}, f"candidates={cands} but recommended {sorted(set(df.movie))}"
    assert df.groupby('user').size().eq(4).all(), "each user should get the 4 known candidates when seen ones count"


def test_favourite_first(model, fx):
    m = model
    if not (_need(m, 'ranks') and SPECS_OF(m).learns): return
    top = m.recommend(fx.held.user.to_numpy(), n=1).set_index('user').movie
    hit = (top.reindex(fx.held.user).to_numpy() == fx.held.movie.to_numpy()).mean()
    assert hit >= 0.8, f"{type(m).__name__}: the held-out favourite comes first for only {hit:.0%} of the users"


def test_scores_match_recommend(model, fx):
    "The public `scores` agree with `recommend`'s order."
    m = model
    if not _need(m, 'ranks'): return
    u = _users(m, fx)[:1]
    df = m.recommend(u, n=3, exclude_seen=False)
    s = m.scores(u, df.movie.to_numpy())[0]
    if m.predicts_ratings and m.scores_are_ratings: s = np.clip(s, *m.scale)  # recommend shows them as stars
    np.testing.assert_allclose(s, df.score.to_numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- ratings
def _pairs(fx):
    u = fx.ratings.user.to_numpy()[::7]
    return u, fx.ratings.movie.to_numpy()[::7]


def test_predict(model, fx):
    m = model
    u, i = _pairs(fx)
    if not _need(m, 'predicts_ratings'):
        with pytest.raises(NotImplementedError): m.predict(u, i)
        return
    p = np.asarray(m.predict(u, i))
    assert p.shape == (len(u),), f"predict gave shape {p.shape} for {len(u)} pairs"
    assert np.isfinite(p).all(), "predict gave non-finite ratings"
    lo, hi = fx.ratings.rating.min(), fx.ratings.rating.max()
    assert lo - 0.5 <= p.min() and p.max() <= hi + 0.5, \
        f"predicted ratings {p.min():.2f}..{p.max():.2f} outside the rating scale {lo}..{hi} (half a star of slack)"
    if SPECS_OF(m).learns:
        own = group(i) == (np.asarray(u) - 1) * 2 // fx.ratings.user.nunique()  # taste_groups: users 1..20 are group A
        assert p[own].mean() - p[~own].mean() > 1.5, \
            f"own-group movies predicted only {p[own].mean() - p[~own].mean():.2f} stars above the others"


def test_unknown_ids(model, fx):
    m = model
    known_u, known_i = int(fx.ratings.user.iloc[0]), int(fx.ratings.movie.iloc[0])
    if _need(m, 'ranks'):
        with pytest.raises(KeyError, match=str(UNKNOWN)): m.recommend([known_u, UNKNOWN], n=3)
    if _need(m, 'predicts_ratings'):
        with pytest.raises(KeyError, match=str(UNKNOWN)): m.predict([known_u, UNKNOWN], [known_i, known_i])
        with pytest.raises(KeyError, match=str(UNKNOWN + 1)): m.predict([known_u], [UNKNOWN + 1])
        p = np.asarray(m.predict([UNKNOWN, known_u, UNKNOWN], [known_i, UNKNOWN + 1, UNKNOWN + 1], unknown='mean'))
        assert p.shape == (3,) and np.isfinite(p).all(), f"predict(unknown='mean') gave {p}"


def test_evaluate_reports_rmse_only_for_rating_models(kind, fx):
    if not SPECS[kind].on_ratings: return
    from movie_recs.evaluation import evaluate
    test = fx.held.assign(rating=np.float32(5.0))
    res = evaluate(make(kind, fx), Split(fx.ratings, test), k=5)
    rating_model = model_class(kind).predicts_ratings
    assert ('rmse' in res) == rating_model, f"evaluate() of a predicts_ratings={rating_model} model: {sorted(res)}"
    if rating_model: assert np.isfinite(res['rmse']), f"rmse {res['rmse']}"
    if model_class(kind).ranks: assert 'ndcg' in res, f"evaluate() of a ranking model reports no ndcg: {sorted(res)}"


# ---------------------------------------------------------------- vectors and new users
def test_similar(model, fx):
    m = model
    if not _need(m, 'has_vectors'):
        with pytest.raises(NotImplementedError): m.similar(1, n=3)
        return
    v = m.movie_vectors()
    assert isinstance(v, core.MovieVectors), f"movie_vectors() returned {type(v).__name__}"
    movie = 3 if 3 in v.vocab else int(v.ids[0])
    df = m.similar(movie, n=5)
    assert len(df) == 5 and movie not in set(df.movie), f"similar({movie}, n=5):\n{df}"
    assert {'movie', 'score'} <= set(df.columns), f"similar columns: {list(df.columns)}"
    assert (np.diff(df.score.to_numpy()) <= 1e-6).all(), f"similar scores increase: {df.score.tolist()}"
    if SPECS_OF(m).group_vectors:
        same = (group(df.movie) == group(movie)).mean()
        assert same >= 0.6, f"only {same:.0%} of the movies similar to {movie} are of its taste group:\n{df}"
    by_title = m.similar(fx.movies.set_index('movie').title[movie], n=5)
    assert by_title.movie.tolist() == df.movie.tolist(), "similar(title) differs from similar(id)"


def _new_user(fx) -> dict:
    t = fx.movies.set_index('movie').title
    return {t[1]: 5, t[2]: 4.5, t[4]: 5, t[12]: 1, t[15]: 1.5}


def test_recommend_for(model, fx):
    m = model
    if not _need(m, 'folds_in'):
        with pytest.raises(NotImplementedError): m.recommend_for(_new_user(fx), n=3)
        return
    new = _new_user(fx)
    df = m.recommend_for(new, n=5)
    assert list(df.columns) == ['movie', 'title', 'score', 'rank'], f"recommend_for columns {list(df.columns)}"
    assert len(df) == 5 and df['rank'].tolist() == [1, 2, 3, 4, 5], f"recommend_for(n=5):\n{df}"
    given = {1, 2, 4, 12, 15}
    assert not given & set(df.movie), f"recommend_for returned the rated movies {given & set(df.movie)}"
    liked = m.recommend_for(list(new)[:3], n=3)
    assert len(liked) == 3 and not {1, 2, 4} & set(liked.movie), f"recommend_for(list of liked titles):\n{liked}"
    if SPECS_OF(m).learns:
        assert group(liked.movie.iloc[0]) == 0, f"a fan of three group A movies gets {liked.title.iloc[0]!r} first"
        assert group(df.movie.iloc[0]) == 0, \
            f"a user who loves group A and rated two group B movies 1 star gets {df.title.iloc[0]!r} first:\n{df}"


# ---------------------------------------------------------------- saving
def _outputs(m, fx) -> dict:
    "Everything a saved model must reproduce exactly."
    out, u = {}, _users(m, fx)
    if m.ranks: out['recommend'] = m.recommend(u, n=5)
    if m.predicts_ratings: out['predict'] = np.asarray(m.predict(*_pairs(fx)))
    if m.has_vectors: out['similar'] = m.similar(int(m.movie_vectors().ids[0]), n=5)
    if m.folds_in: out['recommend_for'] = m.recommend_for(_new_user(fx), n=5)
    assert out or not (m.ranks or m.predicts_ratings or m.has_vectors), "nothing to compare"
    return out


def _same(a:dict, b:dict, what:str):
    assert a.keys() == b.keys(), f"{what}: outputs {sorted(b)} differ from {sorted(a)}"
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k].reset_index(drop=True), b[k].reset_index(drop=True), check_dtype=False,
                                          rtol=1e-5, obj=f'{what}: {k}')
        else:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, err_msg=f'{what}: {k}')


def test_save_load(model, fx, tmp_path):
    m = model
    before = _outputs(m, fx)
    path = m.save(tmp_path/'model')
    assert Path(path) == tmp_path/'model', f"save returned {path}"
    meta = json.loads((tmp_path/'model'/'model.json').read_text())
    assert meta.get('kind') == m.kind and meta.get('module') == type(m).__module__, \
        f"model.json: kind {meta.get('kind')!r}, module {meta.get('module')!r}; " \
        f"expected {m.kind!r}, {type(m).__module__!r}"
    if m.has_vectors:
        with np.load(tmp_path/'model'/'movie_vectors.npz', allow_pickle=False) as z:
            ids, vectors = z['ids'], z['vectors']
        assert vectors.ndim == 2 and len(ids) == len(vectors), f"movie_vectors.npz: {ids.shape} ids, {vectors.shape}"
    assert not list(tmp_path.glob('.model*')), f"save left temporary folders: {list(tmp_path.glob('.model*'))}"
    loaders = [core.load, type(m).load]
    import movie_recs
    if hasattr(movie_recs, 'load'): loaders.append(movie_recs.load)
    for load in loaders:
        back = load(tmp_path/'model')
        assert type(back) is type(m), f"{load.__qualname__} gave a {type(back).__name__}"
        assert back.get_params() == m.get_params(), f"hyperparameters after load: {back.get_params()}"
        _same(before, _outputs(back, fx), f'{load.__module__}.{load.__qualname__}')


class Boom(RuntimeError): pass


@pytest.mark.parametrize('how', ['arrays', 'savez', 'json'])
def test_failed_save_keeps_the_old_model(model, fx, tmp_path, monkeypatch, how):
    "A save that fails (collecting the arrays, writing the weights, or last, writing model.json) keeps the old model."
    m = model
    m.save(tmp_path/'model')
    before = _outputs(core.load(tmp_path/'model'), fx)
    calls = []
    def boom(*args, **kwargs):
        calls.append(1)
        raise Boom('disk full')
    if how == 'savez': monkeypatch.setattr(np, 'savez', boom)
    elif how == 'json': monkeypatch.setattr(json, 'dumps', boom)  # after weights.npz and movie_vectors.npz
    else: monkeypatch.setattr(m, '_arrays', boom)
    with pytest.raises(Boom): m.save(tmp_path/'model')
    monkeypatch.undo()
    assert calls, f"save() never called {how}"
    _same(before, _outputs(core.load(tmp_path/'model'), fx), f'after a save that failed in {how}')
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != 'model')
    assert not left, f"a failed save left {left} beside the model folder"


def test_every_kind_takes_seed_and_show_progress():
    "One spelling across the package: every registered kind is built the same way with only keyword arguments."
    import movie_recs.hybrid, movie_recs.evaluation, movie_recs.posters  # noqa: F401 (registers every kind)
    from movie_recs.core import MODELS
    assert len(MODELS) >= 16, sorted(MODELS)
    for kind, cls in MODELS.items():
        m = cls(seed=3, show_progress=False)
        assert m.seed == 3 and m.show_progress is False and m.get_params()['seed'] == 3, kind


def test_unknown_means_the_same_for_every_kind(model, fx):
    "unknown='mean' is one promise (issue 17 item 4): an unknown user of an unknown movie gets the mean training "
    "rating, and an unknown user is never scored as some known user (the neural model once gave every unseen user "
    "the first user's embedding)."
    m = model
    if not _need(m, 'predicts_ratings'): return
    first_u, i = int(m.users.ids[0]), int(fx.ratings.movie.iloc[0])  # the user at position 0 of the model's vocabulary
    p = np.asarray(m.predict([UNKNOWN, UNKNOWN, first_u], [UNKNOWN + 1, i, i], unknown='mean'), 'float64')
    if m.kind != 'global-mean':  # the one model that predicts the same for everyone
        assert p[1] != pytest.approx(p[2], abs=1e-6), f"{m.kind}: an unknown user is predicted exactly as user {first_u}"
    ok = p[0] == pytest.approx(float(fx.ratings.rating.mean()), abs=1e-4)
    assert ok, f"{m.kind}: an unknown user and movie predicted {p[0]}, not the mean training rating"


def test_recommended_stars_stay_on_the_rating_scale(model, monkeypatch):
    "A rating model ranks by its raw scores but shows them as stars on the scale (MF's once read 5.058 of 5; issue 18)."
    m = model
    if not (m.predicts_ratings and m.ranks): return
    users = m.users.ids[:3]
    before = m.recommend(users, n=5)
    raw = m._scores
    monkeypatch.setattr(m, '_scores', lambda u: np.asarray(raw(u), 'float64') + 10)  # every score far above the scale
    after = m.recommend(users, n=5)
    pd.testing.assert_frame_equal(after[['user', 'movie', 'rank']], before[['user', 'movie', 'rank']])
    if m.scores_are_ratings: assert (after.score == m.scale[1]).all(), after
    else: assert (after.score > m.scale[1]).all(), f"{m.kind}: its scores are not stars, so they must not be clipped"
