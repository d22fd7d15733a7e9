"""Model code for DermRelay, split by role: networks/ (one network per module), serving/ (what the
platform runs: registry and cards, preprocessing, tiled and patch-map inference, one module per
analysis), datasets/ (labelled data as training and evaluation read it), training/, evaluation/,
phantoms/ (synthetic RCM mosaics with exact ground truth), the command lines (`python -m
inference`, __main__.py) and ONNX export. Model cards are in cards/, their weights in weights/.

This package never imports Django, so workers, command lines and notebooks can all use it.
"""
