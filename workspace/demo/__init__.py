"""A deterministic demo workspace: a fictional brand, its contacts, a year of events and spend.

The data carries planted truths that Baton's tools should recover from it (listed on
`DemoStats` and in `generate_demo_workspace`). Rows are generated contact by contact
from one seeded random stream and written in batches, so a million contacts never sit
in memory at once.
"""

from workspace.demo.experiments import REPEAT_SENDS
from workspace.demo.generator import DemoStats, generate_demo_workspace
from workspace.demo.messages import BEST_SLOT

__all__ = ["BEST_SLOT", "REPEAT_SENDS", "DemoStats", "generate_demo_workspace"]
