__version__ = "0.0.1"


def load(path):
    "Load any saved model, whatever its kind: `movie_recs.load('my_model')` (the model libraries load on first use)."
    from .core import load as _load
    return _load(path)
