"""The QA dashboards' API under /api/v1/qa/: scope, summary (with outliers), weekly trend, recall
simulation, drill-down to the mosaics behind any number, and CSV export.

Who: qa_admin at the sites where they hold it, site_admin at their own site(s); technicians and
readers get a 403 saying so. A site outside the user's QA scope is a 404 (audited as a denial).
Every read writes an audit event (qa_view, or qa_export for CSV). Thin: parsing and permissions
here, the numbers in qa.selectors and qa.statistics.

One module per concept: `query` (the shared parameters), `access` (who may, and the audit),
`dashboards`, `drilldown` (the mosaics behind a number and their thumbnails), `export` (CSV).
"""
