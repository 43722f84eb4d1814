"""Input and output: tables, CSV/JSON/Arrow, plots, HTML report."""
