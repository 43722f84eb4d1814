"""Testing support for pack authors: the conformance suite as a pytest plugin."""
