"""Plain helpers that know no app of the portal: enqueueing after commit, rendering mail,
money, the client's address, which constraint failed, spreadsheet cells, outage warnings.

Nothing here imports `portal`, `projects` or `votes`, so every app can use it without
creating a cycle.
"""
