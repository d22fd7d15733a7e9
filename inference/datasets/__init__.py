"""Labelled data as training and evaluation read it: HAM10000-style dermoscopy folders and CSVs
(ham10000), labelled mosaic folders as the phantoms are written (mosaic_folders), and where the
shared data sets are (shared).
"""
