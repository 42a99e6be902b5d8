"""Dataset sources.  Each returns, per split, a list of examples (dicts in the EXAMPLES layout)."""
