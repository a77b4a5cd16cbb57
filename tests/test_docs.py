"""The docs site, built offline from the notebooks (tools/build_docs.py), opened page by page in headless Chromium.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them; elsewhere `apt-get install chromium
chromium-driver`, or set MOVIE_RECS_CHROMIUM / MOVIE_RECS_CHROMEDRIVER to other binaries)."""
import importlib, os, shutil, subprocess, sys, threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p.name for p in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))


@pytest.fixture(scope='module')
def site():
    r = subprocess.run([sys.executable, 'tools/build_docs.py'], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    docs = ROOT/'_docs'
    handler = type('Quiet', (SimpleHTTPRequestHandler,), {'log_message': lambda *a: None})
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(handler, directory=str(docs)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', docs
    httpd.shutdown(); httpd.server_close()


@pytest.fixture(scope='module')
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    binary = os.environ.get('MOVIE_RECS_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
    driver = os.environ.get('MOVIE_RECS_CHROMEDRIVER') or shutil.which('chromedriver')
    if not (binary and driver):
        pytest.fail("Chromium and ChromeDriver are needed for the docs test: apt-get install chromium chromium-driver")
    opts = webdriver.ChromeOptions(); opts.binary_location = binary
    for a in ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']:
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    b = webdriver.Chrome(service=Service(driver), options=opts)
    yield b
    b.quit()


def pages_of(docs):
    return sorted(p.name for p in docs.glob('*.html'))


def test_every_notebook_has_a_page(site):
    _, docs = site
    assert 'index.html' in pages_of(docs)
    assert len(pages_of(docs)) == len(NBS) + 1, (pages_of(docs), NBS)


def test_pages_load_cleanly(site, browser):
    url, docs = site
    for page in pages_of(docs):
        browser.get(f'{url}/{page}')
        errors = [l for l in browser.get_log('browser') if l['level'] == 'SEVERE']
        assert not errors, f'{page}: console errors {errors}'
        links = set(browser.execute_script("return [...document.querySelectorAll('#sidebar a')].map(a => a.getAttribute('href'))"))
        assert set(pages_of(docs)) <= links, f'{page}: sidebar lacks {set(pages_of(docs)) - links}'
        broken = browser.execute_script("return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
        assert not broken, f'{page}: images that do not load: {broken}'


def exported(module):
    m = importlib.import_module(f'movie_recs.{module}')
    return [n for n in m.__all__ if not n.isupper()]


@pytest.mark.parametrize('page,module,min_images', [('core.html', 'core', 0), ('data.html', 'data', 1),
                                                     ('download.html', 'download', 0), ('sources.html', 'sources', 2),
                                                     ('evaluation.html', 'evaluation', 0), ('report.html', 'report', 2),
                                                     ('cli.html', 'cli', 0), ('link_embeddings.html', 'links', 0),
                                                     ('collab.html', 'collab', 1), ('posters.html', 'posters', 3),
                                                     ('hybrid.html', 'hybrid', 0)])
def test_api_docs_and_figures(site, browser, page, module, min_images):
    url, _ = site
    browser.get(f'{url}/{page}')
    ids = set(browser.execute_script("return [...document.querySelectorAll('h3[id], h4[id]')].map(h => h.id)"))
    missing = [n for n in exported(module) if n.lower() not in ids]
    assert not missing, f'{page}: no API documentation for {missing}'
    sizes = browser.execute_script("return [...document.querySelectorAll('#content img')].map(i => i.naturalWidth)")
    assert len(sizes) >= min_images and all(w > 100 for w in sizes), sizes


def test_readme_picture_loads(site, browser):
    url, _ = site
    browser.get(f'{url}/index.html')
    w = browser.execute_script("const i = document.querySelector('#content img'); return i && i.complete ? i.naturalWidth : 0")
    assert w > 300


def test_in_page_links_resolve_and_code_is_clean(site, browser):
    """Heading anchors pointed at #Quick-start while the id was quick-start; signatures showed raw [`name`](url) Markdown;
    'source' links went to a repository that does not exist."""
    url, docs = site
    for page in pages_of(docs):
        browser.get(f'{url}/{page}')
        dead = browser.execute_script("return [...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.getAttribute('href'))"
                                      ".filter(h => h.length > 1 && !document.getElementById(decodeURIComponent(h.slice(1))))")
        assert not dead, f'{page}: in-page links to no element: {dead[:5]}'
        raw = browser.execute_script("return [...document.querySelectorAll('pre')].map(p => p.textContent)"
                                     ".filter(t => /\\]\\(https?:/.test(t)).map(t => t.slice(0, 120))")
        assert not raw, f'{page}: Markdown links inside code: {raw[:3]}'
        gone = browser.execute_script("return [...document.querySelectorAll('a[href*=\"github.com/movie-recs/\"]')].length")
        assert gone == 0, f'{page}: links into github.com/movie-recs, which does not exist'
