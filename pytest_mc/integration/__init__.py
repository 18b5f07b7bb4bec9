"""Plan §C evidence integration: artifacts computed from evidence and from the target.

One module per artifact: `ga_delta` (the GA delta report; its file format in
`ga_delta_models`, its release-notes snippet in `release_notes`), `dr_schedule` (the monthly
DR drill schedule; RFC 5545 text in `ical`) and `privacy_tiles` (the admin-only Grafana
privacy dashboard). `output` writes any of them, schema-checked. None of them imports pytest.
"""
