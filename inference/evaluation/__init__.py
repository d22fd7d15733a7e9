"""Measuring the shipped models on labelled data, with the figures the model cards carry: the
quality model on labelled mosaic folders (quality), the lesion segmentation (lesion_segmentation),
the classifiers and model A against model B (classifiers, diagnosis_comparison,
classification_metrics), and every dermoscopy model on one outside folder in one command
(dermoscopy). Evaluation commands write the same metric names as the cards.
"""
