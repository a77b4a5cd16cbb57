"""Size limits and links (issue 17 item 9): a zip bomb is refused before anything is written, and seeding never follows a
link out of the seed folder (a poster linked to /dev/zero filled the disk and left a 52 MB junk .jpg)."""
import os, shutil, zipfile
from pathlib import Path

import pytest

from movie_recs.download import check_expansion, poster_dir, safe_extract, seed_home


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    bomb = tmp_path/'bomb.zip'
    with zipfile.ZipFile(bomb, 'w', zipfile.ZIP_DEFLATED) as zf: zf.writestr('ratings.csv', b'\0' * 20_000_000)
    monkeypatch.setenv('MOVIE_RECS_MAX_EXTRACT_GB', '0.01')
    with pytest.raises(ValueError, match=r'bomb.zip: would expand to 0.02 GB .*MOVIE_RECS_MAX_EXTRACT_GB'):
        safe_extract(bomb, tmp_path/'out')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bomb.zip'], 'nothing extracted, no temp folder left'
    monkeypatch.setenv('MOVIE_RECS_MAX_EXTRACT_GB', '1')
    assert (safe_extract(bomb, tmp_path/'out')/'ratings.csv').stat().st_size == 20_000_000, 'raised limit: extracted'


def test_expansion_ratio(tmp_path):
    "Beyond 256 MB an archive may grow 100x: a 3 MB zip claiming 2 GB is refused, ml-25m's 250 MB -> 1.1 GB is not."
    small, big = tmp_path/'small.zip', tmp_path/'big.zip'
    with open(small, 'wb') as f: f.truncate(3_000_000)
    with open(big, 'wb') as f: f.truncate(250_000_000)  # sparse: no disk used
    with pytest.raises(ValueError, match=r'\(667x\); the limits are 10 GB and, beyond 256 MB, 100x'):
        check_expansion(small, [2_000_000_000])
    check_expansion(big, [1_100_000_000])
    check_expansion(small, [200_000_000])  # under 256 MB the ratio does not count


def test_seed_never_follows_links_out(shared, tmp_path):
    src, home = tmp_path/'src', tmp_path/'home'
    (src/'posters').mkdir(parents=True)
    (src/'movielens').mkdir()
    (src/'movielens'/'ml-latest-small.zip').symlink_to(shared/'movielens'/'ml-latest-small.zip')  # out of src
    (src/'posters'/'1.jpg').symlink_to('/dev/zero')
    (src/'posters'/'3.jpg').symlink_to('/etc/passwd')
    shutil.copyfile(shared/'posters'/'ml1m-w185'/'2.jpg', src/'posters'/'2.jpg')
    (src/'posters'/'4.jpg').symlink_to(src/'posters'/'2.jpg')  # a link inside the folder is fine
    found = seed_home(src, home)
    assert found == ['posters'], found
    assert sorted(p.name for p in poster_dir(home).iterdir()) == ['2.jpg', '4.jpg']
    assert not (home/'downloads'/'ml-latest-small').exists() or not list((home/'downloads'/'ml-latest-small').iterdir())
