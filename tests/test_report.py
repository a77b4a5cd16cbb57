"The HTML report of `movie_recs demo`, read back as a browser would: its tables, numbers, notes, charts and captions."
import os, re, shutil, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import movie_recs
from movie_recs.data import MovieLens
from movie_recs.report import CSS, data_fingerprint, html_report, info_html, plot_comparison, poster_grid
from movie_recs.sources import poster_index

EXE = Path(sys.executable).parent/'movie_recs'
VOID = {'img', 'meta', 'br', 'hr', 'link', 'input'}


class Page(HTMLParser):
    "The parts of a report page the tests look at: table rows (cell texts), headings, images, the style sheet."
    def __init__(self, text):
        super().__init__()
        self.rows, self.headings, self.imgs, self.captions, self.terms, self.style, self.text = [], [], [], [], [], '', []
        self.tables_in_scroll, self.tables, self._open, self._cell, self._row, self._scroll = 0, 0, [], None, None, 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'img': self.imgs.append(a)
        if tag in VOID: return
        self._open.append((tag, a))
        if tag == 'div' and a.get('class') == 'scroll': self._scroll += 1
        if tag == 'table':
            self.tables += 1
            self.tables_in_scroll += self._scroll > 0
        if tag == 'tr': self._row = []
        if tag in ('td', 'th'): self._cell = []
        if tag in ('h1', 'h2', 'figcaption', 'dt'): self._cell = []

    def handle_endtag(self, tag):
        if tag in VOID: return
        t, a = self._open.pop()
        assert t == tag, f'</{tag}> closes <{t}>'
        if tag == 'div' and a.get('class') == 'scroll': self._scroll -= 1
        if tag in ('td', 'th'): self._row.append(''.join(self._cell).strip())
        if tag == 'tr': self.rows.append(self._row)
        if tag == 'h2': self.headings.append(''.join(self._cell).strip())
        if tag == 'figcaption': self.captions.append(''.join(self._cell).strip())
        if tag == 'dt': self.terms.append(''.join(self._cell).strip())

    def handle_data(self, data):
        if self._open and self._open[-1][0] == 'style': self.style += data
        if self._cell is not None: self._cell.append(data)
        self.text.append(data)

    def all_text(self): return re.sub(r'\s+', ' ', ''.join(self.text))


def check_page(page):
    "What every report must hold, whatever its data."
    assert all(any(row) for row in page.rows), [r for r in page.rows if not any(r)]
    assert page.tables == page.tables_in_scroll, 'a table outside a sideways-scrolling box runs off a phone screen'
    assert re.search(r'\.scroll\{overflow-x:auto', page.style), page.style
    size = re.search(r'figcaption\{font-size:(\d+)px', page.style)
    assert size and int(size.group(1)) >= 12, page.style
    text = page.all_text()
    assert re.search(r'generated \d{4}-\d\d-\d\d \d\d:\d\d', text) and f'movie_recs {movie_recs.__version__}' in text
    assert ('What the numbers mean' in page.headings) == bool(page.terms), 'metrics shown are defined, under a heading'
    posters = [i for i in page.imgs if i.get('alt', '').startswith('Poster of')]
    assert posters or not any('with a poster' in h for h in page.headings), 'a heading promises posters not shown'


@pytest.fixture
def table():
    "A comparison of three models: one predicts ratings only, one ranks only, one does both."
    return pd.DataFrame({'rmse': [0.8222, np.nan, 0.8611], 'mae': [0.64, np.nan, 0.66],
                         'ndcg': [np.nan, 0.2099, 0.1020], 'fit_seconds': [12.3456, 0.01, 0.03]},
                        index=pd.Index(['blend', 'most popular', 'biases'], name='model'))


def test_tables_numbers_and_gaps(table, tmp_path):
    "No empty header row; counts with thousands separators, the density as a percentage; every gap explained."
    info = dict(name='ml-latest-small', ratings=100836, users=610, movies=9724, catalogue=9742, tags=3683,
                rating_min=0.5, rating_max=5.0, first_date='1996-03-29', last_date='2018-09-24', density=0.017)
    table.attrs['na'] = {('blend', 'ndcg'): 'this model does not rank movies', 'rmse': 'this model does not predict ratings',
                         'mae': 'this model does not predict ratings'}
    path = html_report(tmp_path/'report.html', 'intro', [('Data', info_html(info)), ('Models', table)],
                       meta={'data': 'ml-latest-small, 100,836 ratings, archive sha256 b8aad1ba19d3'})
    page = Page(path.read_text())
    check_page(page)
    rows = {r[0]: r[1:] for r in page.rows}
    assert rows['ratings'] == ['100,836'] and rows['density'][0].startswith('1.7% '), rows
    assert rows['model'] == ['RMSE', 'MAE', 'nDCG@10', 'fit (s)'], rows['model']
    assert rows['blend'] == ['0.8222', '0.6400', '—a', '12.35'] and rows['most popular'][:2] == ['—b', '—b'], rows
    text = page.all_text()
    assert 'a —: this model does not rank movies.' in text and 'b —: this model does not predict ratings.' in text
    assert 'archive sha256 b8aad1ba19d3' in text and text.count('100,836 ratings') == 2, 'in the header and the footer'
    assert page.terms == ['RMSE', 'MAE', 'nDCG@10', 'fit (s)'], 'the metrics shown, and only those, are defined'


def test_rmse_axis_shows_the_differences(table):
    "0.82 against 0.86 must look different: the RMSE axis starts below the best model, above 0, and says so."
    fig = plot_comparison(table)
    start = fig.axes[0].get_xlim()[0]
    assert 0 < start < 0.8222 and f'starts at {start:.2f}, not 0' in fig.axes[0].get_xlabel(), fig.axes[0].get_xlabel()
    assert fig.axes[1].get_xlim()[0] == 0, 'nDCG starts at 0'
    assert f'RMSE per model, axis from {start:.2f}' in fig.get_label(), fig.get_label()


def test_poster_captions_are_text(shared, tmp_path):
    "Poster titles are HTML captions (at least 12 px), not 8-pixel text inside a figure."
    index = poster_index(shared/'posters'/'ml1m-w185')
    movies = pd.DataFrame({'movie': [1, 2], 'title': ['Toy Story (1995)', 'Jumanji (1995)']})
    path = html_report(tmp_path/'r.html', 'intro', [('Posters', poster_grid(index, movies, [1, 2]))])
    page = Page(path.read_text())
    check_page(page)
    assert page.captions == ['Toy Story (1995)', 'Jumanji (1995)'], page.captions
    assert [i['alt'] for i in page.imgs] == ['Poster of Toy Story (1995)', 'Poster of Jumanji (1995)']
    assert int(re.search(r'figcaption\{font-size:(\d+)px', CSS).group(1)) >= 12


def test_fingerprint_of_other_data():
    "Data not in the registry is named by a hash of its ratings: the same ratings, the same fingerprint."
    r = pd.DataFrame({'user': [1, 1, 2], 'movie': [1, 2, 1], 'rating': [4.0, 3.0, 5.0], 'timestamp': [0, 1, 2]})
    m = pd.DataFrame({'movie': [1, 2], 'title': ['A (1990)', 'B (1991)'], 'year': [1990, 1991], 'genres': [['X'], ['Y']]})
    a, b = data_fingerprint(MovieLens('mine', r, m)), data_fingerprint(MovieLens('mine', r.copy(), m))
    assert a == b and re.fullmatch(r'mine, 3 ratings, ratings sha256 [0-9a-f]{12}', a), a
    assert data_fingerprint(MovieLens('mine', r.assign(rating=[4.0, 3.0, 4.5]), m)) != a


@pytest.fixture(scope='module')
def offline_report(shared, tmp_path_factory):
    "`demo --quick` on a data home holding only the MovieLens archive, every download failing at once."
    tmp = tmp_path_factory.mktemp('offline')
    (tmp/'src'/'movielens').mkdir(parents=True)
    shutil.copyfile(shared/'movielens'/'ml-latest-small.zip', tmp/'src'/'movielens'/'ml-latest-small.zip')
    env = {**os.environ, 'MOVIE_RECS_HOME': str(tmp/'home'), 'MOVIE_RECS_MIRROR': 'http://127.0.0.1:9/'}
    seed = subprocess.run([str(EXE), 'data', 'seed', str(tmp/'src')], capture_output=True, text=True, env=env)
    assert seed.returncode == 0 and 'ml-latest-small' in seed.stdout, seed.stderr
    r = subprocess.run([str(EXE), 'demo', '--quick', '--out', str(tmp/'report')], capture_output=True, text=True,
                       env=env, timeout=600)
    return r, tmp/'report'/'report.html'


def test_offline_demo_writes_the_report(offline_report):
    "It used to compute everything, then stop on the DBpedia download and write no report."
    r, path = offline_report
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'skipped DBpedia links (dbpedia-ml1m)' in r.stdout and 'skipped posters' in r.stdout, r.stdout
    assert f'report written to {path}' in r.stdout, r.stdout
    page = Page(path.read_text())
    check_page(page)
    text = page.all_text()
    skipped = next(h for h in page.headings if h.startswith('Skipped'))
    assert 'data not in the data home' in skipped, page.headings
    assert 'movie_recs data fetch dbpedia-ml1m' in text and 'movie_recs data seed FOLDER' in text, text
    assert 'the poster grids' in text and 'the "Why" section are skipped' in text and 'TMDB_API_KEY' in text, text
    assert not page.imgs[1:], 'only the comparison chart: no posters'
    assert not any(h.startswith(('Why', 'User ')) for h in page.headings), page.headings
    assert not any('poster' in h for h in page.headings if not h.startswith('Skipped')), page.headings
    assert 'data ml-latest-small, 100,836 ratings, archive sha256 b8aad1ba19d3' in text
    rule = ('Test ratings whose user or movie is not in the training part are dropped before scoring, as in every score '
            'of movie_recs (07_evaluation): 798 of 20,167 on the rating split, 1,083 of 25,206 on the top-N split.')
    assert rule in text and rule in r.stdout, 'the evaluation protocol, stated in the report and the terminal'


def test_offline_report_cold_start_is_explained(offline_report):
    "The cold-start heading says it is a simulation, and the page says which movies' ratings were hidden."
    _, path = offline_report
    page = Page(path.read_text())
    cold = next(h for h in page.headings if h.startswith('Cold start'))
    assert cold.startswith('Cold start (simulated): ranking ') and cold.endswith('movies whose ratings were hidden'), cold
    text = page.all_text()
    assert 'A simulation of movies nobody has rated yet: 10% of the rated movies' in text, text
    rows = {r[0]: r[1:] for r in page.rows}
    assert 'links only' not in rows and 'popularity by genre' in rows, rows
    assert rows['mf'][2] == '—c' and 'c —: not measured: the demo scores this model on rating prediction only.' in text


@pytest.fixture(scope='module')
def browser():
    "Headless Chromium (CI installs it; skipped where it is absent)."
    binary = os.environ.get('MOVIE_RECS_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
    driver = os.environ.get('MOVIE_RECS_CHROMEDRIVER') or shutil.which('chromedriver')
    if not (binary and driver): pytest.skip('needs chromium and chromium-driver (apt-get install chromium chromium-driver)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']: opts.add_argument(a)
    b = webdriver.Chrome(service=Service(driver), options=opts)
    yield b
    b.quit()


@pytest.mark.parametrize('width', [375, 700, 1400])
def test_report_fits_the_window(browser, offline_report, width):
    "From a phone to a wide screen the page never scrolls sideways: a wide table scrolls inside its box."
    _, path = offline_report
    browser.set_window_size(width, 900)
    browser.get(path.as_uri())
    inner = browser.execute_script('return window.innerWidth')
    assert browser.execute_script('return document.documentElement.scrollWidth') <= inner, (width, inner)
    right = browser.execute_script("return Math.max(...[...document.querySelectorAll('.scroll, img')]"
                                   ".map(e => e.getBoundingClientRect().right))")
    assert right <= inner, (width, right, inner)
    px = browser.execute_script("return parseFloat(getComputedStyle(document.querySelector('td')).fontSize)")
    assert px >= 12, px
