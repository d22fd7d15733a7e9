"""The PDF of a signed report version (fpdf2), fit to be filed in the patient's chart.

Everything written as report text comes from the version's frozen content, so the PDF says exactly
what was signed (the clinical question, the patient's age at the visit and sex, the quality block
with each mosaic's depth, the model findings with their confidence); the list of versions gives each
version's own signing time from its row. The key images (thumbnails of the dermoscopy image and of the mosaics) are drawn with their
model overlay (uninformative areas on the mosaic, the mosaic's projection on the dermoscopy image),
taken from the overlay pyramid's level that matches the thumbnail, filled at half opacity with a solid
outline so the tissue under it stays visible, and with a colour legend under each image.

The patient's identifiers (name, MRN, birth date, sex) are not part of the signed content (which
readers' versions API shows): the caller passes them from the patient record at printing time, or
None when the site's report policy leaves them out of this user's PDF (reading.selectors.
pdf_patient_identifiers); the PDF then says that they were left out.

One module per concept: `layout` (the page, headings, fields, how values read), `tables`
(quality, findings, versions), `key_images` (thumbnails with their overlays for paper), `report`
(the document in order).
"""
