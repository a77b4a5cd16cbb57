"Shared by the benchmark scripts: DataFrames as Markdown tables."
import pandas as pd


def md(df, floatfmt='.4f'):
    "A DataFrame as a Markdown table (tuple column names joined with ' / ', missing values left blank)."
    cols = [' / '.join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
    lines = ['| ' + ' | '.join([df.index.name or 'model'] + cols) + ' |', '|---' + '|---:' * len(cols) + '|']
    for i, row in df.iterrows():
        lines.append('| ' + ' | '.join([str(i)] + ['' if pd.isna(v) else format(v, floatfmt) for v in row]) + ' |')
    return '\n'.join(lines)
