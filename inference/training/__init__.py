"""Training the shipped models and writing their cards: the quality model on labelled mosaic
folders (quality), the lesion segmentation (lesion_segmentation) and the classifiers
(classification, classifier_cards) on HAM10000, weight soups and recalibration of classifier runs
(weight_soup), and what the trainers share (training_loop). Seeded end to end.
"""
