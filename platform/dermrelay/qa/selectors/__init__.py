"""Reads for the QA dashboards: per-site and per-technician statistics of the quality gate's
judgements, always scoped to the sites where the user holds qa_admin or site_admin.

The rows are MosaicQuality judgements (one per judged RCM mosaic) with their image and case, read
through the gate and cases models, never written. The period filters the case's visit date,
both ends included; weeks are ISO weeks (Monday start) computed in Python, so SQLite and
PostgreSQL give the same answer.

Every judged mosaic counts, including a mosaic that was later replaced by a re-imaged one: a poor
mosaic that had to be re-imaged is exactly what QA must see. No patient identifier (name, MRN,
birth date) is read here: case and image ids, visit dates, technician and site names only.

One module per concept: `scope` (whose statistics, which period), `mosaics` (the judged mosaics
and the drill-down filters), `groups` (the rows grouped by site and technician, with outlier
evidence), `dashboards` (summary, weekly trend, recall simulation).
"""
