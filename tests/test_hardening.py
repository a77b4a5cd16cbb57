"Issue 17, items 5, 6, 7 and 12: every bad input gets one line naming the file, the problem and the fix; no tracebacks."
import errno, os, pickle, shutil, subprocess, sys, zipfile

import numpy as np
import pandas as pd
import pytest

from movie_recs.core import taste_groups
from movie_recs.evaluation import Biases


@pytest.fixture
def files(tmp_path):
    "A small saved model (biases on two taste groups), its training ratings, a test file and exact predictions."
    train, held = taste_groups()
    train.to_csv(tmp_path/'train.csv', index=False)
    Biases().fit(train).save(tmp_path/'model')
    test = held.assign(rating=4.0)
    test.rename(columns={'movie': 'item'}).to_csv(tmp_path/'test.csv', index=False)
    pred = pd.DataFrame({'user': test.user, 'item': test.movie, 'prediction': 4.0})
    pred.to_csv(tmp_path/'pred.csv', index=False)
    return tmp_path, pred


def not_text(path, kind):
    "Write a file that is not a text table: UTF-16 text, a pickle, binary data."
    table = pd.DataFrame({'user': [1], 'item': [1], 'rating': [4.0]})
    data = {'utf16': table.to_csv(index=False).encode('utf-16'), 'pickle': pickle.dumps(table),
            'binary': bytes(range(256)) * 4}[kind]
    path.write_bytes(data)
    return path


WHAT = {'utf16': 'UTF-16 text, not a CSV or TSV', 'pickle': 'a Python pickle, not a CSV or TSV',
        'binary': r'binary data \(byte 0x00 at offset 0\), not a CSV or TSV'}


# Item 5: messages that name the file, the problem and the fix

@pytest.mark.parametrize('kind', list(WHAT))
@pytest.mark.parametrize('role', ['ratings', 'test', 'predictions'])
def test_not_text_inputs_say_what_they_are(cli, files, kind, role):
    d, _ = files
    bad = not_text(d/f'bad-{kind}.csv', kind)
    args = {'ratings': ['evaluate', '--test', bad, '--predictions', d/'pred.csv'],
            'test': ['predict', '--model', d/'model', '--test', bad, '--out', d/'out.csv'],
            'predictions': ['evaluate', '--test', d/'test.csv', '--predictions', bad]}[role]
    err = cli.fails(f"bad-{kind}.csv: {WHAT[kind]}", *args)
    assert 'error: utf-8' not in err and "codec can't decode" not in err, err


def test_parse_error_names_the_file(cli, files):
    d, _ = files
    (d/'ragged.csv').write_text('user,item,prediction\n1,1,4\n1,2,3,4,5\n')
    cli.fails(r'ragged.csv: malformed predictions file \(.*Expected 3 fields in line 3, saw 5\)',
              'evaluate', '--test', d/'test.csv', '--predictions', d/'ragged.csv')
    (d/'ragged.csv').write_text('1,1\n1,2,3,4,5\n')
    cli.fails(r'ragged.csv: malformed test file', 'predict', '--model', d/'model', '--test', d/'ragged.csv',
              '--out', d/'out.csv')


def test_os_errors_name_the_file_and_the_problem(cli, files):
    d, _ = files
    (d/'plain').write_text('x')
    cli.fails(r"plain/home: Not a directory; a part of the path is a file, not a folder\.$",
              '--home', d/'plain'/'home', 'data', 'seed', d)
    cli.fails(r'nowhere/out.csv: no folder .*nowhere to write it in; check the path\.$',
              'predict', '--model', d/'model', '--test', d/'test.csv', '--out', d/'nowhere'/'out.csv')
    from movie_recs.cli import _message
    assert _message(OSError(errno.ENOSPC)) == 'No space left on device; free some disk space, or write elsewhere.'
    assert _message(PermissionError(errno.EROFS, os.strerror(errno.EROFS), 'm/p.csv')) == \
        'm/p.csv: Read-only file system; write somewhere you can write to.'


def test_broken_pipe_ends_quietly(files):
    "`movie_recs recommend --users all | head` : the reader goes away; no traceback, no 'error: 32'."
    d, _ = files
    p = subprocess.Popen([sys.executable, '-m', 'movie_recs', 'recommend', '--model', d/'model', '--users', 'all'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # like `head` exiting before the command writes
    err = p.stderr.read().decode()
    assert p.wait() == 141 and err == '', (p.returncode, err)


def test_ctrl_c_exits_130_in_one_line(cli, monkeypatch):
    import movie_recs.cli
    def interrupted(args): raise KeyboardInterrupt
    monkeypatch.setattr(movie_recs.cli, 'data_list', interrupted)
    rc, out, err = cli.run('data', 'list')
    assert rc == 130 and err.strip() == 'movie_recs: interrupted (Ctrl-C); nothing more was done.', (rc, err)


# Item 6: damaged archives and model folders are named, never a traceback

def test_archive_with_corrupt_member_data(cli, tmp_path):
    "A seeded archive whose deflate data is damaged (zlib.error on extraction) is named, with the fix."
    src = tmp_path/'src'/'movielens'
    src.mkdir(parents=True)
    zpath = src/'ml-100k.zip'
    with zipfile.ZipFile(zpath, 'w', zipfile.ZIP_DEFLATED) as zf:
        zf.writestr('ml-100k/u.data', ''.join(f'{u}\t{m}\t4\t0\n' for u in range(1, 50) for m in range(1, 50)))
        zf.writestr('ml-100k/u.item', '1|A (1990)|01-Jan-1990||x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n')
    data = bytearray(zpath.read_bytes())
    start = 30 + len('ml-100k/u.data')
    data[start + 5:start + 205] = b'\xff' * 200  # inside the first member's compressed stream
    zpath.write_bytes(bytes(data))
    home = tmp_path/'home'
    cli.fails(r'not seeded \(1 file\): .*/src/movielens/ml-100k.zip: MD5 mismatch \(expected 0e33842e',
              '--home', home, 'data', 'seed', tmp_path/'src')  # not the official archive: its pinned MD5 says so
    with pytest.MonkeyPatch.context() as mp:  # and without the pin, reading it back finds the damage: never recorded
        mp.setenv('MOVIE_RECS_UNPINNED', 'ml-100k')
        cli.fails(r'ml-100k.zip: corrupt or truncated archive \(Error -3 .*\); nothing was kept',
                  '--home', home, 'data', 'seed', tmp_path/'src')
    assert not (home/'manifest.json').exists() and not (home/'downloads'/'ml-100k'/'ml-100k.zip').exists()
    cli.fails(r'ml-100k.zip:ml-100k/u.data: the archive is corrupt or truncated \(Error -3 .*\)\. Fetch it again\.',
              '--home', home, 'data', 'info', zpath)  # read in place, it is named too


def damage(folder, how):
    w = folder/'weights.npz'
    arrays = lambda: dict(np.load(w))
    if how == 'truncated': w.write_bytes(w.read_bytes()[:300])
    elif how == 'empty': w.write_bytes(b'')
    elif how == 'bit-flipped':
        b = bytearray(w.read_bytes())
        b[100:140] = bytes(x ^ 0x55 for x in b[100:140])
        w.write_bytes(bytes(b))
    elif how == 'list': (folder/'model.json').write_text('[1, 2]')
    elif how == 'params': (folder/'model.json').write_text((folder/'model.json').read_text().replace(
        '"params": {', '"params": [{').replace('},\n "scale"', '}],\n "scale"'))
    elif how == 'shapes': np.savez(w, **(arrays() | {'bm': arrays()['bm'][:5]}))
    elif how == 'seen': np.savez(w, **(arrays() | {'seen_indices': arrays()['seen_indices'] + 1000}))
    elif how == 'nan': np.savez(w, **(arrays() | {'bu': np.full_like(arrays()['bu'], np.nan),
                                                  'bm': np.full_like(arrays()['bm'], np.nan)}))


@pytest.mark.parametrize('how,msg', [
    ('truncated', ': the saved model is damaged or incomplete'),
    ('empty', ': the saved model is damaged or incomplete'),
    ('bit-flipped', ': the saved model is damaged or incomplete'),
    ('list', '/model.json holds a JSON list, not the object `save` writes; the folder is damaged'),
    ('params', ': the saved model is damaged or incomplete'),
    ('shapes', r': the saved model is damaged or incomplete \(its arrays do not fit together'),
    ('seen', r': the saved model is damaged or incomplete \(its seen matrix does not fit'),
    ('nan', r": the saved model is damaged or incomplete \(weights.npz: array 'bu' holds NaN values\)"),
])
def test_damaged_model_folder(cli, files, how, msg):
    d, _ = files
    folder = d/f'model-{how}'
    shutil.copytree(d/'model', folder)
    damage(folder, how)
    err = cli.fails(f'model-{how}' + msg, 'recommend', '--model', folder, '--user', '1')
    assert 'save it again' in err, err
    cli.fails(f'model-{how}' + msg, 'predict', '--model', folder, '--test', d/'test.csv', '--out', d/'o.csv')


def test_recommendations_with_non_numeric_ranks(cli, files):
    d, _ = files
    (d/'recs.csv').write_text('user,item,rank\n1,1,1\n1,2,first\n')
    cli.fails(r"recs.csv: column 'rank' holds whole numbers; line 3 has 'first'",
              'evaluate', '--test', d/'test.csv', '--recommendations', d/'recs.csv')
    (d/'recs.csv').write_text('user,item,rank\n1,1,0\n')
    cli.fails(r"recs.csv: column 'rank' counts from 1 \(the best\); line 2 has 0",
              'evaluate', '--test', d/'test.csv', '--recommendations', d/'recs.csv')


# Item 7: evaluate matches every test row exactly once and refuses impossible predictions

def test_duplicate_predictions_are_refused(cli, files):
    d, pred = files
    pd.concat([pred, pred.iloc[[3]]]).to_csv(d/'dup.csv', index=False)
    u, m = pred.user.iloc[3], pred.item.iloc[3]
    cli.fails(rf'dup.csv: user {u}, movie {m} appears twice \(line 5 and line {len(pred) + 2}\); write one prediction',
              'evaluate', '--test', d/'test.csv', '--predictions', d/'dup.csv')


def test_duplicate_recommendations_are_refused(cli, files):
    d, _ = files
    (d/'recs.csv').write_text('user,item,rank\n1,1,1\n1,1,2\n')
    cli.fails(r'recs.csv: user 1, movie 1 appears twice \(line 2 and line 3\)',
              'evaluate', '--test', d/'test.csv', '--recommendations', d/'recs.csv')


@pytest.mark.parametrize('value,why', [(np.inf, 'predicts inf, not a finite number'),
                                       (-np.inf, 'predicts -inf, not a finite number'),
                                       (1e9, r'predicts 1e\+09, far outside the rating scale \(0.5, 5.0\)')])
def test_impossible_predictions_are_refused(cli, files, value, why):
    d, pred = files
    pred.assign(prediction=np.where(np.arange(len(pred)) == 2, value, 4.0)).to_csv(d/'bad.csv', index=False)
    u, m = pred.user.iloc[2], pred.item.iloc[2]
    cli.fails(rf'bad.csv: line 4 \(user {u}, movie {m}\) {why}', 'evaluate', '--test', d/'test.csv',
              '--predictions', d/'bad.csv')


def test_missing_prediction_value_is_refused(cli, files):
    d, pred = files
    pred.assign(prediction=np.where(np.arange(len(pred)) == 2, np.nan, 4.0)).to_csv(d/'bad.csv', index=False)
    cli.fails(r"bad.csv: column 'prediction' holds numbers; line 4 has ''", 'evaluate', '--test', d/'test.csv',
              '--predictions', d/'bad.csv')


def test_every_test_row_matched_once(cli, files):
    "Duplicate test rows count once (the latest is kept), and the score is the true one."
    d, pred = files
    test = pd.read_csv(d/'test.csv')
    pd.concat([test, test.iloc[:5]]).to_csv(d/'test2.csv', index=False)
    pred.assign(prediction=np.where(np.arange(len(pred)) < 10, 5.0, 4.0)).to_csv(d/'p.csv', index=False)
    rc, out, err = cli.run('evaluate', '--test', d/'test2.csv', '--predictions', d/'p.csv', '--json')
    assert rc == 0, err
    import json
    res = json.loads(out)
    assert res['predictions'] == len(test), res
    assert abs(res['rmse'] - np.sqrt(10 / len(test))) < 1e-9, res


# Item 12: counts and values

@pytest.mark.parametrize('n', ['0', '-5', '2.5', '1e400'])
def test_counts_must_be_positive_whole_numbers(cli, files, n):
    d, _ = files
    for args in (['recommend', '--model', d/'model', '--user', '1', '-n', n],
                 ['evaluate', '--test', d/'test.csv', '--predictions', d/'pred.csv', '-k', n]):
        rc, out, err = cli.run(*args)
        assert rc == 2 and ('must be positive' in err or 'not a whole count' in err) and 'Traceback' not in err, err


def test_headerless_first_rating_4e0(cli, files):
    d, _ = files
    (d/'e.csv').write_text('1,1,4e0\n2,3,3\n')
    rc, out, err = cli.run('predict', '--model', d/'model', '--test', d/'e.csv', '--out', d/'p.csv')
    assert rc == 0 and 'wrote 2 predictions' in out, (out, err)
    from movie_recs.data import read_ratings
    assert read_ratings(d/'e.csv').rating.tolist() == [4.0, 3.0]


# Leftovers of items 9, 11 and 14: data info on archives read in place, temporary names, the Parquet writer

def test_data_info_refuses_a_zip_bomb_read_in_place(tmp_path):
    "A 2 MB zip read in place by `data info` made the command use 4.8 GB of memory for minutes; the expansion limits "
    "of extraction now apply before anything is read (here 300 MB of ratings in a zip of under 1 MB)."
    bomb = tmp_path/'bomb.zip'
    line = b'1,1,4.0,0\n' * 100_000
    with zipfile.ZipFile(bomb, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr('ml-bomb/movies.csv', 'movieId,title,genres\n1,Toy Story (1995),Comedy\n')
        with zf.open('ml-bomb/ratings.csv', 'w', force_zip64=True) as f:
            f.write(b'userId,movieId,rating,timestamp\n')
            for _ in range(300): f.write(line)
    assert bomb.stat().st_size < 3_000_000
    r = subprocess.run([sys.executable, '-m', 'movie_recs', 'data', 'info', str(bomb)], capture_output=True, text=True,
                       timeout=60, env={**os.environ, 'MOVIE_RECS_HOME': str(tmp_path/'home')})
    assert r.returncode == 2 and f'{bomb}: would expand to 0.30 GB from' in r.stderr, r.stderr
    assert 'MOVIE_RECS_MAX_EXTRACT_GB and MOVIE_RECS_MAX_RATIO raise them' in r.stderr, r.stderr


def test_data_info_names_what_a_file_is(cli, tmp_path):
    "A valid .tar.gz or a plain CSV was called 'truncated, fetch it again'."
    import tarfile
    (tmp_path/'ml-x').mkdir()
    (tmp_path/'ml-x'/'ratings.csv').write_text('userId,movieId,rating\n1,1,4\n')
    with tarfile.open(tmp_path/'ml-x.tar.gz', 'w:gz') as tf: tf.add(tmp_path/'ml-x', 'ml-x')
    err = cli.fails(r'ml-x.tar.gz: a tar archive, not a zip; MovieLens releases are read from a zip archive or a folder: '
                    r'extract it \(tar xf ml-x.tar.gz\)', 'data', 'info', tmp_path/'ml-x.tar.gz')
    assert 'truncated' not in err and 'Fetch it again' not in err
    err = cli.fails(r'ratings.csv: a text file, not a MovieLens release; .* A ratings file of your own is read by '
                    r'read_ratings', 'data', 'info', tmp_path/'ml-x'/'ratings.csv')
    assert 'truncated' not in err
    (tmp_path/'cut.zip').write_bytes(b'PK\x03\x04' + b'\x00' * 40)  # a zip's first bytes, then nothing
    cli.fails(r'cut.zip: not a readable zip archive .* it may be truncated', 'data', 'info', tmp_path/'cut.zip')


def _fail_midway(monkeypatch, module, name):
    "Make `module.name` write a few bytes to its file, then fail as a full disk would."
    def broken(f, *a, **k):
        (f.write if hasattr(f, 'write') else open(f, 'wb').write)(b'partial')
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(module, name, broken)


def test_feature_cache_and_vectors_leave_no_partial_file(tmp_path, monkeypatch):
    "FeatureCache.put used a fixed per-process temporary name and left it behind on failure; MovieVectors.save used "
    "one fixed name for every writer."
    from movie_recs.core import MovieVectors
    from movie_recs.posters import FeatureCache
    c = FeatureCache(tmp_path/'cache', 'lite')
    c.put('ab12', np.ones(3, 'float32'))
    mv = MovieVectors(np.array([1, 2]), np.ones((2, 3), 'float32'), 'x')
    mv.save(tmp_path/'v.npz')
    _fail_midway(monkeypatch, np, 'save')
    _fail_midway(monkeypatch, np, 'savez')
    with pytest.raises(OSError): c.put('cd34', np.zeros(3, 'float32'))
    with pytest.raises(OSError): mv.save(tmp_path/'w.npz')
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*') if p.is_file())
    assert left == ['cache/lite/ab/ab12.npy', 'v.npz'], left


def test_parquet_recommendations_writer_closed_on_failure(tmp_path, monkeypatch):
    "A failure while `recommend_to` writes Parquet left the writer open; the file must not appear, whole or partial."
    import pyarrow.parquet as pq
    from movie_recs.core import taste_groups
    train, _ = taste_groups()
    m = Biases().fit(train)
    closed = []
    class Writer(pq.ParquetWriter):
        def close(self):
            closed.append(True)
            super().close()
    monkeypatch.setattr(pq, 'ParquetWriter', Writer)
    real = type(m).recommend_chunks
    def chunks(self, *a, **k):
        it = real(self, *a, **k)
        yield next(it)
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(type(m), 'recommend_chunks', chunks)
    with pytest.raises(OSError) as e: m.recommend_to(tmp_path/'recs.parquet', n=3, chunk=2)
    assert closed == [True] and list(tmp_path.iterdir()) == []  # closed by recommend_to, not by the garbage collector:
    del e  # the traceback held the writer until here


def test_data_info_summary_leaves_no_temporary_file(cli, tmp_path, monkeypatch, shared):
    "data info kept its summary through a fixed per-process name, left behind when the write failed."
    home = tmp_path/'home'
    (tmp_path/'src').mkdir()
    shutil.copy(shared/'movielens'/'ml-latest-small.zip', tmp_path/'src')
    assert cli.run('--home', home, 'data', 'seed', tmp_path/'src')[0] == 0
    import movie_recs.core
    real = os.replace
    def replace(a, b):
        if str(b).endswith('info.json'): raise OSError(errno.ENOSPC, 'No space left on device', str(b))
        return real(a, b)
    monkeypatch.setattr(movie_recs.core.os, 'replace', replace)
    rc, out, err = cli.run('--home', home, 'data', 'info', 'ml-latest-small')
    assert rc == 2 and 'info.json' in err, err
    assert sorted(p.name for p in (home/'downloads'/'ml-latest-small').iterdir()) == ['ml-latest-small.zip']


# Audit of items 1, 3 and 11 through the command (in-process: the subprocess tests above cover the entry point)

def test_out_never_replaces_a_folder_that_is_not_a_model(cli, files, tmp_path, monkeypatch):
    "`train collab --out some/user/folder` deleted the user's files and exited 0; `--out .` emptied the current folder."
    d, _ = files
    mine = tmp_path/'mine'
    mine.mkdir()
    (mine/'thesis.tex').write_text('years of work')
    for out, cwd in [(mine, tmp_path), ('.', mine)]:
        monkeypatch.chdir(cwd)
        cli.fails(r'is not a saved movie_recs model \(it has no model.json\): refusing to replace it',
                  'train', 'collab', '--data', d/'train.csv', '--model', 'topn', '--out', out)
        assert sorted(p.name for p in mine.iterdir()) == ['thesis.tex'], list(mine.iterdir())


def test_ids_past_32_bits_through_predict(cli, tmp_path):
    "Movie 4294967297 became movie 1 (Toy Story) and was written back as 1 by predict; a timestamp of 1e30 became the "
    "int64 minimum."
    from movie_recs.core import taste_groups
    train, _ = taste_groups()
    big = 2**32 + 1
    train = train.assign(movie=train.movie.astype('int64') + big - 1)  # movie 1 becomes 4294967297
    train.to_csv(tmp_path/'train.csv', index=False)
    (tmp_path/'test.csv').write_text(f'user,movie\n1,{big}\n1,1\n')
    rc, out, err = cli.run('predict', '--model', 'mf', '--train', tmp_path/'train.csv', '--test', tmp_path/'test.csv',
                           '--out', tmp_path/'p.csv')
    assert rc == 0, err
    p = pd.read_csv(tmp_path/'p.csv')
    assert p.movie.tolist() == [big, 1] and p.prediction.iloc[0] != p.prediction.iloc[1], p
    (tmp_path/'t30.csv').write_text('user,movie,rating,timestamp\n1,1,4,100\n2,1,3,1e30\n')
    cli.fails("t30.csv: column 'timestamp', row 1 has '1e30', beyond what a 64-bit integer holds",
              'data', 'split', tmp_path/'t30.csv', '--out', tmp_path/'s')


def test_predict_on_a_full_disk_leaves_no_half_written_file(cli, files, monkeypatch):
    "A full disk while predict wrote its CSV left half a file where the user expected predictions."
    d, _ = files
    (d/'p.csv').write_text('the previous predictions\n')
    real = pd.DataFrame.to_csv
    def full(self, path, *a, **k):
        real(self.head(3), path, *a, **k)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(pd.DataFrame, 'to_csv', full)
    cli.fails('No space left on device; free some disk space, or write elsewhere',
              'predict', '--model', d/'model', '--test', d/'test.csv', '--out', d/'p.csv')
    assert (d/'p.csv').read_text() == 'the previous predictions\n'
    assert not [p for p in d.iterdir() if p.name.startswith('.p.csv')]


def test_a_folder_or_an_existing_file_as_out(cli, files):
    "`error: 21` and `error: 17` once: an output that is a folder, or a folder to make that is a file, named with the fix."
    d, _ = files
    (d/'outdir').mkdir()
    cli.fails(rf'^movie_recs: error: {d}/outdir: Is a directory; give a file, not a folder\.$',
              'predict', '--model', d/'model', '--test', d/'test.csv', '--out', d/'outdir')
    assert list((d/'outdir').iterdir()) == [] and not [p for p in d.iterdir() if p.name.startswith('.outdir')]
    cli.fails(r'train.csv: File exists; remove it, or choose another name\.$', 'data', 'split', d/'train.csv',
              '--out', d/'train.csv')
