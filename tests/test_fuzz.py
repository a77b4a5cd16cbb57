"""Property-based fuzzing (hypothesis) of the ratings readers and the evaluation scorer: random bytes, random CSV-ish
text and random numeric tables give either the right answer or a ValueError naming the file, never another exception
and never a silently wrong number. Sized to run in CI in well under a minute (max_examples, no deadline)."""
import math, tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from movie_recs.data import check_ratings, read_numbers, read_ratings, read_table
from movie_recs.evaluation import evaluate_files, mae, rmse

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALE = (0.5, 5.0)


def written(data: bytes, name='r.csv') -> Path:
    d = Path(tempfile.mkdtemp(prefix='fuzz'))
    (d/name).write_bytes(data)
    return d/name


def ok_or_names_file(f, path):
    "`f()`'s result, or None when it raised a ValueError naming `path`; any other exception fails the test."
    try: return f()
    except ValueError as e:
        assert str(path) in str(e), f"the error does not name the file: {e}"
        return None


def check_clean(df, n_lines):
    "What every accepted ratings table must be: typed, finite, within the scale, no duplicate pairs, no invented rows."
    assert list(df.columns) == ['user', 'movie', 'rating', 'timestamp']
    assert df.user.dtype.kind == 'i' and df.movie.dtype.kind == 'i' and df.timestamp.dtype == 'int64'
    assert np.isfinite(df.rating).all() and df.rating.between(*SCALE).all()
    assert not df.duplicated(['user', 'movie']).any()
    assert 0 < len(df) <= n_lines


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    p = written(data)
    df = ok_or_names_file(lambda: read_ratings(p), p)
    if df is not None: check_clean(df, data.count(b'\n') + 1)


CELLS = st.one_of(st.integers(-2**70, 2**70).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(['', ' ', 'NaN', 'nan', 'inf', '-0', '4e0', '1e30', '0x10', '1_000', '"3"', 'five',
                                   '3.', '.5', '+2', '١', '4,5', '\x00', 'ä']),
                  st.text(max_size=5))
HEADERS = st.sampled_from(['', 'userId,movieId,rating,timestamp\n', 'user,item,rating\n', 'user\titem\trating\n',
                           'uid,iid,score,time\n', 'a,b,c\n', 'userId,movieId,rating,rating\n'])


@FUZZ
@given(HEADERS, st.lists(st.lists(CELLS, min_size=1, max_size=5), min_size=1, max_size=8), st.sampled_from([',', '\t']))
def test_random_csvish_text(header, rows, sep):
    text = header + ''.join(sep.join(r) + '\n' for r in rows)
    p = written(text.encode('utf-8', 'surrogatepass'))
    df = ok_or_names_file(lambda: read_ratings(p), p)
    if df is not None: check_clean(df, len(rows))


def reference(text: str, sep: str, header: bool) -> pd.DataFrame:
    "The slow, obviously right reading: every cell as text (read_table), then the checks."
    df = read_table(written(text.encode(), 'ref.csv'))
    df.columns = ['user', 'movie', 'rating', 'timestamp'][:df.shape[1]] if not header else \
        [{'userid': 'user', 'movieid': 'movie'}.get(c.lower(), c.lower()) for c in df.columns]
    return check_ratings(df, 'ref.csv')


RATINGS = st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0])
TABLES = st.lists(st.tuples(st.integers(-2**40, 2**40), st.integers(-2**40, 2**40), RATINGS, st.integers(0, 2**40)),
                  min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1]))


@FUZZ
@given(TABLES, st.booleans(), st.sampled_from([',', '\t']), st.sampled_from(['{}', '{:.1f}', '{:e}']))
def test_numeric_tables_read_exactly(rows, header, sep, fmt):
    "Any table of valid ratings, however written, reads back exactly: ids past 32 bits whole, the same as the slow reader."
    text = ('userId,movieId,rating,timestamp\n'.replace(',', sep) if header else '') + ''.join(
        sep.join([str(u), str(m), fmt.format(r), str(t)]) + '\n' for u, m, r, t in rows)
    df = read_ratings(written(text.encode()))
    want = pd.DataFrame(rows, columns=['user', 'movie', 'rating', 'timestamp'])
    assert df.user.tolist() == want.user.tolist() and df.movie.tolist() == want.movie.tolist()
    assert df.rating.tolist() == want.rating.tolist() and df.timestamp.tolist() == want.timestamp.tolist()
    ref = reference(text, sep, header)
    pd.testing.assert_frame_equal(df, ref, check_dtype=False)


@FUZZ
@given(TABLES, st.lists(st.floats(-2, 8, allow_nan=False), min_size=30, max_size=30))
def test_scorer_is_exact(rows, preds):
    "evaluate_files' RMSE and MAE are the formulas' on exactly one prediction per test rating, whatever the row order."
    test = pd.DataFrame(rows, columns=['user', 'movie', 'rating', 'timestamp'])
    p = test[['user', 'movie']].assign(prediction=np.round(preds[:len(test)], 6)).sample(frac=1, random_state=0)
    tp, pp = written(test.to_csv(index=False).encode(), 't.csv'), written(p.to_csv(index=False).encode(), 'p.csv')
    res = evaluate_files(tp, pp)
    j = test.merge(p, on=['user', 'movie'])
    assert res['predictions'] == len(test)
    assert math.isclose(res['rmse'], float(np.sqrt(np.mean((j.rating - j.prediction) ** 2))), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(res['mae'], float(np.mean(np.abs(j.rating - j.prediction))), rel_tol=1e-9, abs_tol=1e-12)


DAMAGE = st.sampled_from(['duplicate', 'missing', 'nan', 'inf', 'huge', 'text', 'fraction', 'empty', 'extra'])


@FUZZ
@given(TABLES.filter(lambda r: len(r) >= 2), DAMAGE, st.integers(0, 29))
def test_scorer_refuses_bad_predictions(rows, damage, i):
    "A predictions file with a duplicate, a gap, a non-number or an impossible value is refused, naming the file."
    test = pd.DataFrame(rows, columns=['user', 'movie', 'rating', 'timestamp'])
    p = test[['user', 'movie']].assign(prediction=3.0).astype(object)
    i %= len(p)
    if damage == 'duplicate': p = pd.concat([p, p.iloc[[i]]])
    elif damage == 'missing': p = p.drop(p.index[i])
    elif damage == 'extra': p = pd.concat([p, pd.DataFrame({'user': [2**41], 'movie': [1], 'prediction': [3.0]})])
    else: p.iloc[i, 2] = {'nan': 'nan', 'inf': 'inf', 'huge': '1e9', 'text': 'high', 'fraction': '3.5', 'empty': ''}[damage]
    if damage == 'fraction': p.iloc[i, 0] = '1.5'  # a fractional user id
    tp, pp = written(test.to_csv(index=False).encode(), 't.csv'), written(p.to_csv(index=False).encode(), 'p.csv')
    if damage == 'extra':  # a prediction for a pair not in the test set is not scored: the result stays exact
        assert evaluate_files(tp, pp)['predictions'] == len(test)
        return
    with pytest.raises(ValueError) as e: evaluate_files(tp, pp)
    assert str(pp) in str(e.value), str(e.value)


@FUZZ
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=20),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=20))
def test_metrics(y, yhat):
    "rmse and mae give the formula's value for finite predictions of the same length, else a ValueError saying why."
    y, yhat = np.array(y), np.array(yhat)
    good = len(y) == len(yhat) and len(y) and np.isfinite(yhat).all() and np.isfinite(y).all()
    for f, ref in [(rmse, lambda: np.sqrt(np.mean((y - yhat) ** 2))), (mae, lambda: np.mean(np.abs(y - yhat)))]:
        if good:
            with np.errstate(over='ignore'): want = float(ref())
            assert f(y, yhat) == pytest.approx(want, nan_ok=True)
        elif len(y) != len(yhat) or not len(y) or not np.isfinite(yhat).all():
            with pytest.raises(ValueError): f(y, yhat)
