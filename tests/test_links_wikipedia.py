"The Wikipedia dump joins MovieLens through the names find_movie knows: '(film)' suffixes, series prefixes, years."
import json

import pandas as pd
import pytest

from movie_recs.sources import link_table, match_titles, read_wikipedia

MOVIES = pd.DataFrame({
    'movie': [260, 1196, 1210, 122886, 6874, 60069, 858, 1221, 2628],
    'title': ['Star Wars: Episode IV - A New Hope (1977)', 'Star Wars: Episode V - The Empire Strikes Back (1980)',
              'Star Wars: Episode VI - Return of the Jedi (1983)', 'Star Wars: Episode VII - The Force Awakens (2015)',
              'Kill Bill: Vol. 1 (2003)', 'WALL·E (2008)', 'Godfather, The (1972)', 'Godfather: Part II, The (1974)',
              'Star Wars: Episode I - The Phantom Menace (1999)'],
    'year': [1977, 1980, 1983, 2015, 2003, 2008, 1972, 1974, 1999]})
MOVIES['genres'] = [['Sci-Fi']] * 5 + [['Animation'], ['Crime'], ['Crime'], ['Sci-Fi']]
DUMP = [['Star Wars (film)', {'released': 'May 25, 1977', 'director': 'George Lucas'}, ['George Lucas', 'Mark Hamill'], '93%', '8.8/10'],
        ['The Empire Strikes Back', {'released': 'May 21, 1980'}, ['Irvin Kershner', 'Mark Hamill'], None, None],
        ['Return of the Jedi', {'released': 'May 25, 1983'}, ['Richard Marquand', 'Mark Hamill'], None, None],
        ['Kill Bill: Volume 1', {'released': 'October 10, 2003'}, ['Quentin Tarantino'], None, None],
        ['WALL-E', {'released': 'June 27, 2008'}, ['Pixar'], None, None],
        ['The Godfather Part II', {'released': 'December 12, 1974'}, ['Francis Ford Coppola'], None, None],
        ['The Godfather (1991 film)', {}, ['Siddique-Lal'], None, None],
        ['Star Wars', {}, ['Star Wars (franchise)'], None, None],
        ['Nonexistent (2031 film)', {}, ['Nobody'], None, None]]


@pytest.fixture
def dump(tmp_path):
    p = tmp_path/'wp_movies_10k.ndjson'
    p.write_text('\n'.join(json.dumps(r) for r in DUMP) + '\n')
    return read_wikipedia(p)


def test_star_wars_style_titles_join(dump):
    got = match_titles(dump, MOVIES)
    assert got[:6].tolist() == [260, 1196, 1210, 6874, 60069, 1221]


def test_wrong_year_and_ambiguous_and_unknown_titles_stay_unmatched(dump):
    got = match_titles(dump, MOVIES)
    assert got[6:].isna().all(), "the 1991 Godfather is not the 1972 one; bare 'Star Wars' fits five movies"


def test_link_table_joins_the_links_and_lists_the_unmatched(dump):
    lt = link_table(MOVIES, wikipedia=dump, genres=False)
    assert set(lt.links[lt.links.movie == 260].link) == {'George Lucas', 'Mark Hamill'}
    assert 'Siddique-Lal' not in set(lt.links.link)
    assert lt.unmatched == ['The Godfather (1991 film)', 'Star Wars', 'Nonexistent (2031 film)']
    rep = lt.report.set_index('source').loc['wikipedia']
    assert (rep.movies, rep.matched) == (9, 6)
    assert rep.examples.startswith('unmatched: The Godfather (1991 film); Star Wars')


def test_a_title_off_by_one_year_still_joins():
    got = match_titles(pd.DataFrame({'title': ['Return of the Jedi'], 'year': [1984]}), MOVIES)
    assert got.tolist() == [1210]
