"""`mc-verify bake`: CI's long staging bake of one tenant, its daily verdicts and the streak.

`plan` cuts a bake into slices and days and finds where a crashed bake resumes; `gates`
measures a slice from the target's metrics and judges days; `load` keeps bounded k6 traffic
running; `runner` ties them together and records everything into the evidence chain.
No pytest here: the bake runs from the CLI.
"""
