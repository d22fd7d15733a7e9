"""What the platform runs: the registry that loads model cards and verified weights, getting images
to the networks (preprocessing), tiled and patch-map inference, and one module per analysis
(quality, lesion_segmentation, classification, body_sites), with the quality metrics the gate
reports. The Django side imports this package and nothing else of inference (but phantoms for
demo and test data); training/ and evaluation/ build on it.
"""
