"""The marketing data itself: importing it, generating demo data, and its rollups.

Sits with `tools/` above `db/`: tools read the rollups kept here; nothing here imports
from `tools/`, `agents/` or `app/`.
"""
