"""Two ranks on 127.0.0.1 (gloo), launched by torchrun as a user would: the same commands train, predict and score as
one process does, and a killed worker ends the job with a clear message and nothing half-written."""
import os, signal, socket, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import movie_recs
from movie_recs import load
from movie_recs.collab import MF, NeuralMF
from movie_recs.data import load_movielens, random_split
from movie_recs.dist import MANIFEST, read_parts
from movie_recs.evaluation import rmse

PKG = Path(movie_recs.__file__).parent
LIMIT = 400  # seconds any one torchrun job may take before the test fails (and the job is killed)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _torchrun_cmd(*args, nproc=2):
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', str(nproc), '--master-addr',
            '127.0.0.1', '--master-port', str(_free_port()), '-m', 'movie_recs', *map(str, args)]


ENV = {**os.environ, 'GLOO_SOCKET_IFNAME': 'lo', 'MOVIE_RECS_DIST_TIMEOUT': '60', 'OMP_NUM_THREADS': '1'}


def torchrun(*args, nproc=2, env=None):
    "Run `python -m movie_recs ARGS` as `nproc` ranks; the whole process group is killed if it outlives `LIMIT`."
    p = subprocess.Popen(_torchrun_cmd(*args, nproc=nproc), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**ENV, **(env or {})}, start_new_session=True)
    try: out, err = p.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"torchrun {' '.join(map(str, args))} ran past {LIMIT} s:\n{err[-3000:]}")
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    return p.returncode, out, err


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    "ml-latest-small's fixed 80/20 split as the two files a user would have."
    d = tmp_path_factory.mktemp('split')
    train, test = random_split(load_movielens('ml-latest-small').ratings)
    train.to_csv(d/'train.csv', index=False)
    test.to_csv(d/'test.csv', index=False)
    return d, train, test


@pytest.fixture(scope='module')
def mf2(split):
    "MF trained by two ranks with `torchrun ... train collab`, and the command's output."
    d, _, _ = split
    code, out, err = torchrun('train', 'collab', '--data', d/'train.csv', '--model', 'mf', '--out', d/'mf2')
    assert code == 0, err[-3000:]
    return load(d/'mf2'), out


def _our_traceback(err:str) -> bool:
    "Whether a traceback runs through the package (torchrun's launcher always prints its own, ChildFailedError)."
    return f'File "{PKG}' in err


def _test_rmse(m, test):
    known = test.user.isin(m.users.ids) & test.movie.isin(m.movies.ids)
    return rmse(m.predict(test.user[known], test.movie[known]), test.rating[known].to_numpy())


def test_two_ranks_train_mf_as_one(split, mf2):
    "Target: test RMSE within 0.01 of one process. Two ranks follow the one-process run step for step."
    _, train, test = split
    m2, out = mf2
    one = MF().fit(train)
    r1, r2 = _test_rmse(one, test), _test_rmse(m2, test)
    assert abs(r1 - r2) < 0.01, (r1, r2)
    assert abs(r1 - r2) < 1e-3, f'same batches, same gradients: only float rounding may differ ({r1}, {r2})'
    assert r2 < 0.86, r2
    assert out.count('saved ') == 1, 'rank 0 speaks for the job: one message, one save'


def test_two_ranks_neural_mf(split, tmp_path):
    "The neural variant (autograd, an MLP whose dense gradients are all-reduced) trains across ranks too."
    d, train, test = split
    code, _, err = torchrun('train', 'collab', '--data', d/'train.csv', '--model', 'nn', '--epochs', 4,
                            '--out', tmp_path/'nn2')
    assert code == 0, err[-3000:]
    m2 = load(tmp_path/'nn2')
    one = NeuralMF(epochs=4).fit(train)
    r1, r2 = _test_rmse(one, test), _test_rmse(m2, test)
    assert abs(r1 - r2) < 0.01, (r1, r2)


def test_two_ranks_recommend_all_equals_one(split, mf2, tmp_path):
    "Every user's top 10 from two ranks (a part each + manifest) is exactly the one-process file."
    d, _, _ = split
    code, out, err = torchrun('recommend', '--model', d/'mf2', '--users', 'all', '--out', tmp_path/'top10')
    assert code == 0, err[-3000:]
    assert sorted(p.name for p in (tmp_path/'top10').iterdir()) == [MANIFEST, 'part-00000.parquet',
                                                                    'part-00001.parquet']
    two = read_parts(tmp_path/'top10')
    m = load(d/'mf2')
    m.recommend_to(tmp_path/'one.parquet')
    one = pd.read_parquet(tmp_path/'one.parquet')
    pd.testing.assert_frame_equal(two, one)
    assert len(two) == 10 * len(m.users) and f'for {len(m.users):,} users' in out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')], 'no temporary folder left'


def test_two_ranks_predict_writes_once(split, tmp_path):
    "predict trains across the ranks, then rank 0 writes the predictions file."
    d, _, test = split
    code, out, err = torchrun('predict', '--model', 'mf', '--train', d/'train.csv', '--test', d/'test.csv',
                              '--out', tmp_path/'pred.csv')
    assert code == 0, err[-3000:]
    pred = pd.read_csv(tmp_path/'pred.csv')
    assert len(pred) == len(test) and out.count('wrote ') == 1, out
    assert rmse(pred.prediction.to_numpy(), test.rating.to_numpy()) < 0.9


def test_torchrun_without_out_folder_is_refused(split, tmp_path):
    "Two ranks cannot share one recommendations file: a .parquet --out is refused before any work."
    d, _, _ = split
    code, _, err = torchrun('recommend', '--model', 'mf', '--train', d/'train.csv', '--users', 'all',
                            '--out', tmp_path/'top.parquet')
    assert code != 0 and not _our_traceback(err), err[-3000:]
    assert 'error: rank 0 of 2: ' in err and 'top.parquet: with several processes each rank writes its own part' in err
    assert 'rank 1 of 2: rank 0 failed, so this rank stops too' in err, err[-3000:]
    assert not list(tmp_path.iterdir())


def test_killed_worker_fails_clearly(split, tmp_path):
    "Rank 1 is killed mid-training: the job fails within seconds, rank 0 says why, and no model folder appears."
    d, _, _ = split
    cmd = _torchrun_cmd('-v', 'train', 'collab', '--data', d/'train.csv', '--model', 'mf', '--epochs', 500,
                        '--param', 'patience=1000', '--out', tmp_path/'never')
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                         start_new_session=True)
    try:
        pid, t0, lines = None, time.time(), []
        while pid is None and time.time() - t0 < LIMIT:
            line = p.stderr.readline()
            if not line: break
            lines.append(line)
            if line.startswith('rank 1 of 2: joined'): pid = int(line.split('pid ')[1].split(',')[0])
        assert pid, ''.join(lines)[-3000:]
        time.sleep(3)  # well inside the 500 epochs
        os.kill(pid, signal.SIGKILL)
        t1 = time.time()
        out, err = p.communicate(timeout=120)
        err = ''.join(lines) + err
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode != 0 and time.time() - t1 < 90 and not _our_traceback(err), err[-3000:]
    assert 'rank 0 of 2: ' in err and ('lost contact with another rank' in err or 'stopped by torchrun' in err), err[-3000:]
    assert 'Nothing was saved' in err or 'nothing was saved' in err, err[-3000:]
    assert 'SIGKILL' in err or 'Signal 9' in err, "torchrun's summary names the killed rank"
    assert not (tmp_path/'never').exists() and not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


@pytest.fixture(scope='module')
def shard_release(split, shared):
    "The training ratings as a MovieLens release folder with a Parquet cache (64 row groups of 1,261 ratings)."
    import zipfile
    d, train, _ = split
    rel = d/'ml-train'
    rel.mkdir()
    train.rename(columns={'user': 'userId', 'movie': 'movieId'}).to_csv(rel/'ratings.csv', index=False)
    with zipfile.ZipFile(shared/'movielens'/'ml-latest-small.zip') as z:
        (rel/'movies.csv').write_bytes(z.read('ml-latest-small/movies.csv'))
    return rel


def test_two_ranks_each_read_their_shard(split, shard_release, tmp_path):
    """Rank 0 builds the release's Parquet cache, then each rank reads only its row groups of it (rank 0: 0, 2, ...,
    rank 1: 1, 3, ...); MF trained on the two shards reaches the one-process test RMSE within 0.01, and rank 0 saves
    what one process would: the same vocabularies, seen matrix and files."""
    import re
    _, train, test = split
    code, out, err = torchrun('-v', 'train', 'collab', '--data', shard_release, '--model', 'mf', '--out', tmp_path/'mf')
    assert code == 0, err[-3000:]
    assert (shard_release.parent/'ml-train.cache'/'cache.json').is_file()
    seen = {int(k): (g, int(n.replace(',', ''))) for k, g, n in
            re.findall(r'rank (\d) of 2: read row groups \[([\d, ]*)\] of 64 of .*ratings\.parquet: ([\d,]+) of', err)}
    assert seen.keys() == {0, 1}, err[-3000:]
    assert seen[0][0] == ', '.join(map(str, range(0, 64, 2))) and seen[1][0] == ', '.join(map(str, range(1, 64, 2)))
    assert seen[0][1] == 32 * 1261 and seen[0][1] + seen[1][1] == len(train), seen
    assert 'row groups shared by 2 ranks' in out and out.count('saved ') == 1, out
    ml = load_movielens(shard_release)
    two, one = load(tmp_path/'mf'), MF().fit(ml.ratings, ml.movies)
    r1, r2 = _test_rmse(one, test), _test_rmse(two, test)
    print(f'test RMSE: one process {r1:.4f}, two ranks on their shards {r2:.4f}')
    assert abs(r1 - r2) < 0.01, (r1, r2)
    for a, b in [(one.users.ids, two.users.ids), (one.movies.ids, two.movies.ids), (one.seen.indptr, two.seen.indptr),
                 (one.seen.indices, two.seen.indices)]: np.testing.assert_array_equal(a, b)
    assert (one.scale, len(one.titles)) == (two.scale, len(two.titles)) and abs(one.rating_mean - two.rating_mean) < 1e-5
    one.save(tmp_path/'mf1')
    assert sorted(p.name for p in (tmp_path/'mf').iterdir()) == sorted(p.name for p in (tmp_path/'mf1').iterdir())
    with np.load(tmp_path/'mf'/'weights.npz') as a, np.load(tmp_path/'mf1'/'weights.npz') as b:
        assert {k: (a[k].dtype, a[k].shape) for k in a} == {k: (b[k].dtype, b[k].shape) for k in b}


@pytest.mark.parametrize('sizes, batch', [((7, 3), 4), ((5, 0), 2), ((4096, 4095, 1), 1024)])
def test_sharded_steps_cover_each_rank_once(sizes, batch):
    "On shards every rank takes the same number of steps, agrees on each step's batch size, and uses each rating once."
    from movie_recs.collab import _batches
    sizes = np.array(sizes)
    steps = [list(_batches(np.arange(k), batch, sizes=sizes)) for k in sizes]  # each rank's own (here unshuffled) order
    assert len({len(s) for s in steps}) == 1 and len(steps[0]) == -(-sizes.sum() // batch), steps
    for k, s in enumerate(steps): np.testing.assert_array_equal(np.concatenate([b for b, _ in s]), np.arange(sizes[k]))
    for step in zip(*steps):
        assert len({n for _, n in step}) == 1 and step[0][1] == sum(len(b) for b, _ in step)


def test_two_ranks_share_a_ratings_file(split, tmp_path):
    "With MOVIE_RECS_DIST_READ=shard, each rank parses a plain ratings file and trains on every other row of it."
    import re
    d, train, test = split
    code, out, err = torchrun('-v', 'train', 'collab', '--data', d/'train.csv', '--model', 'mf', '--out', tmp_path/'mf',
                              env={'MOVIE_RECS_DIST_READ': 'shard'})
    assert code == 0, err[-3000:]
    kept = dict(re.findall(r'rank (\d) of 2: kept rows \d, \d, \.\.\. of the [\d,]+ ratings every rank read: ([\d,]+)',
                           err))
    assert kept == {'0': f'{(len(train) + 1) // 2:,}', '1': f'{len(train) // 2:,}'}, err[-3000:]
    assert 'every rank reading the file, a share for each of 2 ranks' in out, out
    r1, r2 = _test_rmse(MF().fit(train), test), _test_rmse(load(tmp_path/'mf'), test)
    assert abs(r1 - r2) < 0.01, (r1, r2)
