"""Model code for DermRelay: networks, model cards and registry, preprocessing, metrics, phantoms.

This package never imports Django, so workers, command lines and notebooks can all use it.
"""
