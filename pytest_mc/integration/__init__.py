"""Plan §C evidence integration: artifacts computed from evidence and from the target.

One module per artifact: `ga_delta` (the GA delta report and its release-notes snippet),
`dr_schedule` (the monthly DR drill schedule and its iCalendar export) and `privacy_tiles`
(the admin-only Grafana privacy dashboard). `output` writes any of them, schema-checked.
None of them imports pytest.
"""
