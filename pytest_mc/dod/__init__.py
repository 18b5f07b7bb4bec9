"""The plan's Definition of Done judged from evidence, and the week-5 decision built on it.

`evidence` turns a verified bundle (or a session's chain so far) into what the checks read,
`measured` re-judges recorded measurements with the verdict engine, `items` holds the DoD
items and their evaluation, `decision` the week-5 "expand the autonomy pilot or hold" rule.
"""
