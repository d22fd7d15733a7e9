"""Synthetic RCM mosaic phantoms with exact ground truth for the image-quality model.

THE PHANTOMS ARE SYNTHETIC. No public reflectance confocal microscopy (RCM) data with
quality labels exist, so DermRelay's quality model is trained and tested here on computer-made
images. They imitate the look of RCM mosaics at the dermal-epidermal junction (DEJ) closely
enough to exercise the whole pipeline (training, evaluation, reports), but a model trained on
them is a demonstration: it has not seen a real patient and must not be used to judge real
images until it has been retrained or validated on a clinic's own labelled mosaics. Those
plug in through the same folder layout that `dataset.write_dataset` writes.

The task follows MED-Net (Kose K, Bozkurt A, Alessi-Fox C, et al. "Utilizing machine learning
for image quality assessment for reflectance confocal microscopy." J Invest Dermatol
2020;140(6):1214-1222, doi:10.1016/j.jid.2019.10.018): segment the "diagnostically
uninformative" parts of a DEJ mosaic: air bubbles, particulates (dust), hair,
under-illumination, saturation, areas without skin-window contact, and motion smear. The
phantoms carry a per-pixel union mask and a per-type label map, a coregistered dermoscopy image
and the lesion in both images.

Pixel coordinates. Pixel (row r, column c) has its centre at x = c, y = r, in both images.

One concern per module, in the order a phantom is made:
- generator: `Phantom`, `generate_phantom` (the steps, seeded) and the gate scenarios
  (`with_no_contact`, `gate_phantom`);
- geometry: the tile grid and imaged area, the registration onto the dermoscopy, the lesion;
- fields: the random fields and Voronoi tessellations the textures are made of;
- tissue: the DEJ texture (keratinocytes, papillae, the lesion's changes);
- planner: how many artifacts of which types, where, and their paint order;
- artifacts: the seven artifact types, each with its exact mask;
- dermoscopy: the dermoscopy-like image of the same skin;
- registration: pairs whose mosaic shares signal with the dermoscopy (automatic registration);
- outlines, encoding, dataset: outlines as a person traces them, PNG/JPEG bytes, the folder
  that training and evaluation read.
"""
