"Honest coverage: movies with only genre links are left out, refused by similar, or answered by a fallback model."
import numpy as np
import pandas as pd
import pytest

from movie_recs.core import MovieVectors, load
from movie_recs.links import LinkEmbeddings, link_coverage

SMALL = dict(n_factors=8, epochs=40, batch_size=16, negative_ratio=2, block=4, min_count=1, seed=0, show_progress=False)


def links():
    "Movies 0-9 share people; movies 10-11 have only the genre Drama, which movies 0-4 also have."
    rows = [(m, f'p{(m + j) % 10}', 'starring') for m in range(10) for j in range(3)]
    rows += [(m, 'Drama', 'genre') for m in list(range(5)) + [10, 11]] + [(3, 'space', 'tag')]
    titles = pd.DataFrame({'movie': range(12), 'title': [f'Film {i} ({1990 + i})' for i in range(12)]})
    return pd.DataFrame(rows, columns=['movie', 'link', 'kind']), titles


@pytest.fixture(scope='module')
def model():
    l, t = links()
    return LinkEmbeddings(**SMALL).fit(l, t)


def test_coverage_counts_groups_and_real():
    cov = link_coverage(links()[0], min_count=1)
    assert cov.loc[3, ['person', 'tag', 'genre']].tolist() == [3, 1, 1]
    assert cov.real[cov.real].index.tolist() == list(range(10)) and not cov.real[[10, 11]].any()


def test_genre_only_movies_are_left_out_and_never_neighbours(model):
    assert model.genre_only.tolist() == [10, 11] and len(model.movies) == 10
    assert not {10, 11} & set(model.similar(0, n=9).movie)


def test_similar_refuses_a_genre_only_movie_by_title_or_id(model):
    for q in [10, 'Film 10 (2000)']:
        with pytest.raises(KeyError, match='has only genre links.*fallback'):
            model.similar(q)
    with pytest.raises(KeyError, match='has only genre links'):
        model.find(11)


def test_similar_falls_back_to_a_model_that_knows_the_movie(model):
    other = MovieVectors(np.array([10, 1, 2]), np.array([[1.0, 0], [0, 1], [0.9, 0.1]]), 'collab')
    got = model.similar('Film 10 (2000)', n=2, fallback=other)
    assert got.movie.tolist() == [2, 1] and got.title.tolist() == ['Film 2 (1992)', 'Film 1 (1991)']
    assert got.attrs['answered_by'] == 'collab'


def test_kept_genre_only_movies_are_still_refused(tmp_path):
    l, t = links()
    m = LinkEmbeddings(**SMALL, genre_only_movies=True).fit(l, t)
    assert len(m.movies) == 12
    with pytest.raises(KeyError, match='has only genre links'):
        m.similar(10)
    assert not {10, 11} & set(m.similar(0, n=11).movie)
    m.save(tmp_path/'m')
    assert load(tmp_path/'m').genre_only.tolist() == [10, 11]


def test_similar_links_by_kind(model):
    assert set(model.similar_links('p0', kind='genre').link) == {'Drama'}
    assert set(model.similar_links('p0').kinds[:9]) == {'starring'}, 'people first by default'
    with pytest.raises(ValueError, match="Unknown link kind 'actor'"):
        model.similar_links('p0', kind='actor')
