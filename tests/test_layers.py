"The package's layering: no import cycle between its modules, no module importing one above it, light modules light."
import ast, subprocess, sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1]/'movie_recs'
# A module may import only modules of a lower level (same level: see SAME_LEVEL_OK). The data layer is three modules
# (01_data exports download < sources < data); they keep that order among themselves.
LEVEL = {'core': 0, 'dist': 0.5, 'download': 1.0, 'sources': 1.1, 'data': 1.2, 'evaluation': 2,
         'collab': 3, 'links': 3, 'posters': 3, 'hybrid': 4, 'report': 5, 'cli': 6}
EXEMPT = {'__init__', '__main__', '_modidx'}
SAME_LEVEL_OK = set()  # (importer, imported) pairs of one level allowed today; none exist, so none are allowed
HEAVY = {'torch', 'torchvision', 'fastai', 'sklearn', 'matplotlib'}  # what `import movie_recs` must not pull in


def _modules():
    "Package module name -> path, for every movie_recs/*.py."
    return {p.stem: p for p in sorted(PKG.glob('*.py'))}


def _imports(path:Path, top_level_only:bool=False) -> list:
    "(imported package module, line, at import time?) for every import in `path`, function-local ones included."
    tree, out = ast.parse(path.read_text(), str(path)), []
    local = {n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    mods = _modules()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:  # relative: `from . import x`, `from .x import y`
                names = [base] if base else [a.name for a in node.names]
                names = [f'movie_recs.{n}' for n in names]
            elif base == 'movie_recs':
                names = [f'movie_recs.{a.name}' for a in node.names]
            else:
                names = [base]
        for n in names:
            parts = n.split('.')
            if parts[0] == 'movie_recs' and len(parts) > 1 and parts[1] in mods:
                out.append((parts[1], node.lineno, node not in local))
            elif parts[0] == 'movie_recs' and len(parts) == 1:
                out.append(('__init__', node.lineno, node not in local))
            elif parts[0] in HEAVY:
                out.append((parts[0], node.lineno, node not in local))
    return out


def _graph():
    "Package module -> {imported package modules}, for the layered modules."
    mods = _modules()
    return {m: {i for i, _, _ in _imports(p) if i in mods and i not in EXEMPT and i != m}
            for m, p in mods.items() if m not in EXEMPT}


def test_every_module_has_a_level():
    unknown = sorted(set(_graph()) - set(LEVEL))
    assert not unknown, f"movie_recs modules {unknown} have no level in tests/test_layers.py LEVEL: add them."


def test_no_import_cycle():
    g, cycles = _graph(), []
    def visit(m, stack):
        for n in sorted(g.get(m, ())):
            if n in stack: cycles.append(stack[stack.index(n):] + [n])
            elif n not in done: visit(n, stack + [n])
        done.add(m)
    done = set()
    for m in sorted(g): visit(m, [m])
    assert not cycles, "import cycles between package modules: " + '; '.join(' -> '.join(c) for c in cycles)


def test_no_import_from_above():
    bad = []
    for m, p in _modules().items():
        if m in EXEMPT or m not in LEVEL: continue
        for i, line, _ in _imports(p):
            if i not in LEVEL or i == m: continue
            if LEVEL[i] > LEVEL[m] or (LEVEL[i] == LEVEL[m] and (m, i) not in SAME_LEVEL_OK):
                bad.append(f"movie_recs/{m}.py:{line} imports {i} (level {LEVEL[i]} >= its own {LEVEL[m]})")
    assert not bad, "imports against the layering core < data < evaluation < {collab, links, posters} < hybrid < " \
                    "report < cli:\n" + '\n'.join(bad)


def test_init_imports_nothing_heavy():
    init = PKG/'__init__.py'
    heavy = [f"line {line}: {i}" for i, line, top in _imports(init)
             if top and (i in {'torch', 'torchvision', 'fastai'} or _torchy(i))]
    assert not heavy, f"movie_recs/__init__.py imports torch-using modules at import time: {heavy}"


def _torchy(m:str) -> bool:
    "Does package module `m` import torch (or fastai, torchvision) at import time, directly or through others?"
    seen, todo = set(), [m]
    while todo:
        x = todo.pop()
        if x in seen or x not in _modules(): continue
        seen.add(x)
        for i, _, top in _imports(_modules()[x]):
            if not top: continue
            if i in {'torch', 'torchvision', 'fastai'}: return True
            todo.append(i)
    return False


def test_torchy_sees_torch():
    "The checker itself: a module that imports torch at the top is torchy; core is not."
    assert _torchy('collab'), "tests/test_layers.py: _torchy misses collab's top-level `import torch`"
    assert not _torchy('core'), "core imports torch at import time"


@pytest.mark.parametrize('mod', ['movie_recs', 'movie_recs.core', 'movie_recs.data'])
def test_light_import(mod):
    code = (f"import sys, {mod}\n"
            f"heavy = sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules)\n"
            "print(','.join(heavy))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=PKG.parent, timeout=120)
    assert r.returncode == 0, f"`import {mod}` failed:\n{r.stderr[-2000:]}"
    heavy = [m for m in r.stdout.strip().split(',') if m]
    must_not = {'torch', 'torchvision', 'fastai'}
    assert not set(heavy) & must_not, f"`import {mod}` imports {sorted(set(heavy) & must_not)}; " \
                                      "move those imports inside the functions that need them."


def test_imports_sees_local_and_relative_imports(tmp_path):
    "The checker itself: top-level, relative, function-local and `from movie_recs import x` imports are all found."
    f = tmp_path/'mod.py'
    f.write_text("import torch\nfrom .core import Vocab\nfrom . import data\n"
                 "def g():\n    from movie_recs import hybrid\n    import movie_recs.cli\n")
    found = {(i, top) for i, _, top in _imports(f)}
    assert found == {('torch', True), ('core', True), ('data', True), ('hybrid', False), ('cli', False)}, found
