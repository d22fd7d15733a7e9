"""Reading over the API: the reader's worklist, assignments, claim and release, the report (draft,
sign, amend, versions, PDF), the lesion's history for the case header, and the site administrator's
readers, queue and report policy. Thin: cases are found through cases.selectors.case_list (another
site's case, or a case not assigned to this reader, is a 404 and an audited denial), writes go
through reading.services, which decide who may do what.

One module per concept: `base` (finding the case, report or site, refusals), `worklist`,
`assignments`, `reports`, `lesion_history`, `site_admin` (readers and the reading queue),
`report_policy`.
"""
