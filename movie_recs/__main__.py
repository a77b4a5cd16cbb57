"`python -m movie_recs ...`: the `movie_recs` command."
import sys

from movie_recs.cli import main

sys.exit(main())
