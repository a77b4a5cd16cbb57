"""Build the docs site offline, without Quarto: nbdev's processed notebooks, rendered by nbconvert into _docs/.

Where Quarto is installed, `nbdev_docs` builds the real site from the same notebooks and `_quarto.yml`. Quarto cannot
be installed on machines without internet, so this script renders the same pages: it runs nbdev's own notebook
processing (front matter, `show_doc` for every exported symbol, hidden cells removed) and turns each processed
notebook into an HTML page with a sidebar linking every page. Run from the repository root:
    python tools/build_docs.py          # writes _docs/index.html, _docs/data.html, ...
"""
import html, re, shutil, sys
from pathlib import Path

import nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from pygments.formatters import HtmlFormatter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
QUARTO_ATTRS = re.compile(r'\{(?:target|style|\.)[^{}\n]*\}')  # Quarto-only link/heading attributes
MD_LINK = re.compile(r'\[(?:`|<code>)?([^\]`<]+?)(?:`|</code>)?\]\([^)\s]+\)')  # [`name`](url): nbdev's doc links
SOURCE_LINK = re.compile(r'<a href="https://github\.com/movie-recs/movie_recs/[^"]*"[^>]*>source</a>')


def process():
    "nbdev's docs pre-processing (what `nbdev_proc_nbs` does, minus the Quarto install): returns the `_proc` folder."
    import nbdev.doclinks
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    from nbdev.serve import proc_nbs
    refresh_quarto_yml(); nbdev.doclinks._build_modidx(); nbdev_sidebar.__wrapped__()
    return proc_nbs(force=True, n_workers=0)


def front_matter(nb):
    "The YAML front matter nbdev writes into the first raw cell (title, description, output-file)."
    raw = next((c.source for c in nb.cells if c.cell_type == 'raw' and c.source.lstrip().startswith('---')), '')
    return yaml.safe_load(raw.strip().strip('-')) or {} if raw else {}


def prepare(nb):
    "Drop front matter, apply Quarto cell options (echo: false hides the source) and strip directives."
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw': continue
        if c.cell_type == 'code':
            opts = dict(re.findall(r'^#\|\s*([\w-]+):\s*(.*?)\s*$', c.source, re.M))
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
            if opts.get('echo') == 'false' or not c.source: c.metadata['tags'] = ['remove_input']
            for o in c.get('outputs', []):
                if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = QUARTO_ATTRS.sub('', o['data']['text/markdown'])
        elif c.cell_type == 'markdown': c.source = QUARTO_ATTRS.sub('', c.source)
        cells.append(c)
    nb.cells = cells
    return nb


def exporter():
    c = Config()
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    c.TagRemovePreprocessor.enabled = True
    e = HTMLExporter(config=c, template_name='basic')
    e.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return e


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="site.css">
</head><body>
<nav id="sidebar"><a class="brand" href="index.html">{site}</a><ul>
{nav}
</ul></nav>
<main id="content"><h1 class="title">{title}</h1><p class="description">{description}</p>
{body}
</main></body></html>
"""

CSS = """body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;color:#222;display:flex}
#sidebar{position:sticky;top:0;height:100vh;width:230px;flex:none;padding:1.2rem;background:#f6f7f9;border-right:1px solid #ddd;box-sizing:border-box}
#sidebar .brand{font-weight:700;font-size:1.25rem;text-decoration:none;color:#2a5db0}#sidebar ul{list-style:none;padding:0}
#sidebar li{margin:.35rem 0}#sidebar li.active a{font-weight:700}#sidebar a{color:#2a5db0;text-decoration:none}
#content{max-width:980px;padding:1.5rem 2.5rem;overflow-x:auto;flex:1}.description{font-style:italic;opacity:.75;font-size:1.15rem}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;border-radius:4px}.jp-OutputArea pre{background:none;border-left:2px solid lightsalmon}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ddd;padding:.2rem .5rem}img{max-width:100%}
.prompt,.jp-InputPrompt,.jp-OutputPrompt{display:none}
"""


def build(dest=ROOT/'_docs'):
    "Render every processed notebook into `dest`; returns the list of pages written."
    proc = process()
    order = yaml.safe_load((proc/'sidebar.yml').read_text())['website']['sidebar']['contents']
    nbs = {name: nbformat.read(proc/name, as_version=4) for name in order}
    pages = {name: front_matter(nb) for name, nb in nbs.items()}
    out = {name: ('index.html' if name == 'index.ipynb' else fm.get('output-file') or Path(name).stem + '.html')
           for name, fm in pages.items()}
    site_cfg = yaml.safe_load((proc/'nbdev.yml').read_text())['website']
    site, site_url = site_cfg['title'], site_cfg['site-url'].rstrip('/')
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if (proc/'images').exists(): shutil.copytree(proc/'images', dest/'images')
    (dest/'site.css').write_text(CSS + HtmlFormatter().get_style_defs('.highlight'))
    ex = exporter()
    for name, nb in nbs.items():
        body, _ = ex.from_notebook_node(prepare(nb))
        m = re.search(r'<body[^>]*>(.*)</body>', body, re.S)
        if m: body = m.group(1)
        for src, target in out.items(): body = body.replace(f'href="{src}"', f'href="{target}"')
        body = body.replace(f'href="{site_url}/', 'href="')  # doc links point at this local build
        body = re.sub(r'(<h[1-6] id=")([^"]+)"', lambda m: m.group(1) + m.group(2).lower() + '"', body)  # Quarto's anchors
        body = re.sub(r'(<a class="anchor-link" href="#)([^"]+)"', lambda m: m.group(1) + m.group(2).lower() + '"', body)
        body = re.sub(r'<pre>.*?</pre>', lambda m: MD_LINK.sub(r'\1', m.group(0)), body, flags=re.S)  # in signatures
        body = SOURCE_LINK.sub('', body)  # settings.ini's git_url names no published repository: no dead "source" links
        nav = '\n'.join(f'<li class="{"active" if n == name else ""}"><a href="{out[n]}">{html.escape(pages[n].get("title", n))}</a></li>'
                        for n in order)
        (dest/out[name]).write_text(PAGE.format(title=html.escape(pages[name].get('title', name)), site=site, nav=nav,
                                                description=html.escape(pages[name].get('description', '')), body=body))
    return [dest/out[n] for n in order]


if __name__ == '__main__':
    for p in build(): print(p.relative_to(ROOT))
    sys.exit(0)
