"DBpedia mappings: a wrong-year row and a duplicate URI, in the two file formats, joined to MovieLens ids."
import pandas as pd
import pytest

from movie_recs.sources import check_mappings, link_table, read_dbpedia

R = 'http://dbpedia.org/resource/'
MOVIES = pd.DataFrame({'movie': [858, 893, 1414, 1], 'title': ['Godfather, The (1972)', 'Mother Night (1996)',
                       'Mother (1996)', 'Toy Story (1995)'], 'year': [1972, 1996, 1996, 1995],
                       'genres': [['Crime'], ['Drama'], ['Comedy'], ['Animation']]})


@pytest.fixture
def folder(tmp_path):
    "mappings.tsv maps The Godfather to the 1991 Malayalam film; both files map Mother_Night_(film), to two movies."
    (tmp_path/'mappings.tsv').write_text(f"858\tGodfather, The (1972)\t{R}Godfather_(1991_film)\n"
                                         f"893\tMother Night (1996)\t{R}Mother_Night_(film)\n"
                                         f"1\tToy Story (1995)\t{R}Toy_Story\n")
    (tmp_path/'ml1m_dbpedia_uris.csv').write_text(f"item_id::string,URI::string\n858,{R}The_Godfather\n"
                                                  f"1414,{R}Mother_Night_(film)\n1,{R}Toy_Story\n")
    (tmp_path/'dbo_director.edgelist').write_text(f"{R}Godfather_(1991_film) {R}Siddique-Lal\n"
                                                  f"{R}The_Godfather {R}Francis_Ford_Coppola\n"
                                                  f"{R}Mother_Night_(film) {R}Keith_Gordon\n"
                                                  f"{R}Toy_Story {R}John_Lasseter\n")
    return tmp_path


def test_wrong_year_row_is_rejected_and_the_agreeing_one_used(folder):
    links, mapping = read_dbpedia(folder)
    test = check_mappings(mapping, MOVIES, links.movie_uri.unique()).set_index(['movie', 'uri']).status
    assert test[(858, R + 'Godfather_(1991_film)')] == 'year differs'
    assert test[(858, R + 'The_Godfather')] == 'used'
    lt = link_table(MOVIES, (links, mapping))
    assert set(lt.links[lt.links.movie == 858].link) == {'Francis Ford Coppola', 'Crime'}
    assert 'Siddique-Lal' not in set(lt.links.link), "the 1991 film's director must not be joined to any movie"


def test_duplicate_uri_goes_to_one_movie_the_one_whose_title_it_is(folder):
    links, mapping = read_dbpedia(folder)
    chk = check_mappings(mapping, MOVIES, links.movie_uri.unique())
    used = chk[chk.status == 'used']
    assert used.uri.is_unique and used.movie.is_unique
    assert used.set_index('uri').movie[R + 'Mother_Night_(film)'] == 893
    assert chk.set_index('movie').status[1414] == 'URI used by movie 893'
    assert (chk.movie == 1).sum() == 1, "the same row in both files is one mapping"


def test_report_counts_matched_corrected_rejected_with_examples(folder):
    lt = link_table(MOVIES, read_dbpedia(folder))
    rep = lt.report.set_index('source').loc['dbpedia']
    assert (rep.movies, rep.matched, rep.corrected, rep.rejected) == (4, 3, 1, 1)
    assert rep.match_rate < 1
    assert 'Godfather, The (1972): Godfather (1991 film) -> The Godfather' in rep.examples


def test_bad_mapping_row_names_the_file_and_the_format(folder):
    (folder/'ml1m_dbpedia_uris.csv').write_text(f"item_id::string,URI::string\nToy Story,{R}Toy_Story\n")
    with pytest.raises(ValueError, match=r'ml1m_dbpedia_uris.csv: movie id .Toy Story. is not a MovieLens id.*MovieID,uri'):
        read_dbpedia(folder)


def test_check_mappings_needs_years():
    with pytest.raises(Exception, match='year'):
        check_mappings(pd.DataFrame({'movie': [1], 'uri': [R + 'Toy_Story']}), MOVIES.drop(columns='year'))


def test_real_mappings_use_no_year_contradicting_row(shared):
    from movie_recs.data import load_movielens
    movies = load_movielens(shared/'movielens'/'ml-1m-meta').movies
    links, mapping = read_dbpedia(shared/'links'/'dbpedia-ml1m')
    chk = check_mappings(mapping, movies, links.movie_uri.unique())
    used = chk[chk.status == 'used']
    assert ((used.uri_year.astype(float) - used.year).abs() > 1).sum() == 0
    assert used.set_index('movie').uri[858] == R + 'The_Godfather'
    assert used.set_index('movie').uri[1101] == R + 'Top_Gun'
    assert used.set_index('movie').uri[2916] == R + 'Total_Recall_(1990_film)'
    assert (chk.status == 'year differs').sum() >= 90
