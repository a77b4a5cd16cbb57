"""Write README.md from nbs/index.ipynb without Quarto (which `nbdev_readme` needs).

Markdown cells are copied; visible code cells become ```python blocks followed by their text output. Links into the
notebooks folder are rewritten to work from the repository root. Run from the repository root:
    python tools/make_readme.py            # write README.md
    python tools/make_readme.py --check    # exit 1 if README.md is out of date
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _src(cell): return ''.join(cell['source'])


def _output_text(cell):
    out = []
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream' and o.get('name') == 'stdout': out.append(''.join(o['text']))
        elif o['output_type'] == 'execute_result': out.append(''.join(o['data'].get('text/plain', '')) + '\n')
    return ''.join(out).rstrip('\n')


def render(nb_path=ROOT/'nbs'/'index.ipynb'):
    "Markdown text of the README from the index notebook."
    parts = []
    for cell in json.loads(Path(nb_path).read_text())['cells']:
        src = _src(cell)
        if cell['cell_type'] == 'markdown': parts.append(src)
        elif not re.search(r'^#\|\s*hide', src, re.M):
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|'))
            parts.append(f'```python\n{code}\n```')
            if _output_text(cell): parts.append(f'```\n{_output_text(cell)}\n```')
    md = '\n\n'.join(parts) + '\n'
    md = re.sub(r'\]\((?!https?:|#)([^)]+?\.ipynb)\)', r'](nbs/\1)', md)
    return re.sub(r'\]\(images/', '](nbs/images/', md)


if __name__ == '__main__':
    md, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != md: sys.exit('README.md is out of date: run `python tools/make_readme.py`.')
    else: readme.write_text(md)
