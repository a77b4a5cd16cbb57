"""Several processes sharing one data home at once (issue 17, items 10 and 14): seeding and first use never crash, lose
a checksum or call a good archive corrupt, and what the package writes is readable by the other users of a shared home."""
import json, os, shutil, stat, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent/'movie_recs'


def _run_at_once(cmds, env, n=4):
    "Start `n` copies of each command at the same moment; (exit status, stderr) of every process."
    def one(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return r.returncode, r.stderr
    with ThreadPoolExecutor(n * len(cmds)) as ex: return list(ex.map(one, [c for c in cmds for _ in range(n)]))


@pytest.fixture
def src(shared, tmp_path):
    "A seed folder holding the MovieLens archive and the DBpedia link files (two datasets, three manifest entries)."
    s = tmp_path/'src'
    (s/'movielens').mkdir(parents=True)
    shutil.copyfile(shared/'movielens'/'ml-latest-small.zip', s/'movielens'/'ml-latest-small.zip')
    shutil.copytree(shared/'links', s/'links')
    return s


@pytest.mark.parametrize('round_', range(3))
def test_four_processes_seed_and_use_one_home(src, tmp_path, round_):
    "Four `data seed` at once, then four first uses (extraction) at once: all succeed, no entry is lost."
    home = tmp_path/'home'
    env = {**os.environ, 'MOVIE_RECS_HOME': str(home), 'MOVIE_RECS_MIRROR': 'http://127.0.0.1:9/'}
    seeded = _run_at_once([[str(EXE), 'data', 'seed', str(src)]], env)
    assert all(code == 0 for code, _ in seeded), [e for c, e in seeded if c]
    manifest = json.loads((home/'manifest.json').read_text())
    links = sorted(p.name for p in (src/'links').rglob('*') if p.is_file())
    assert len(manifest) >= len(links), manifest  # every link file's checksum was recorded, none lost
    used = _run_at_once([[str(EXE), 'data', 'info', 'ml-latest-small']], env)
    assert all(code == 0 for code, _ in used), [e for c, e in used if c]
    assert not any('corrupt' in e for _, e in used)
    assert not [p for p in home.rglob('*') if p.name.endswith(('.part', '.new', '.tmp'))], 'no temporary file left'


def test_shared_home_is_readable(src, tmp_path):
    "Cached downloads, extracted folders and saved models get a plain file's and folder's permissions (umask 022)."
    home = tmp_path/'home'
    code = ("import os; os.umask(0o022)\n"
            "from movie_recs.download import seed_home, fetch\n"
            f"seed_home({str(src)!r}, {str(home)!r}); fetch('ml-latest-small', {str(home)!r}, show_progress=False)\n"
            "from movie_recs.core import taste_groups\nfrom movie_recs.collab import MF\n"
            f"MF(n_factors=2, epochs=1, valid_frac=0).fit(taste_groups()[0]).save({str(tmp_path/'model')!r})\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert mode(home/'downloads'/'ml-latest-small'/'ml-latest-small.zip') == 0o644
    assert mode(home/'manifest.json') == 0o644
    assert mode(home/'ml-latest-small') == 0o755
    assert mode(tmp_path/'model') == 0o755 and mode(tmp_path/'model'/'weights.npz') == 0o644
