"""Regenerate the frozen task files: ``python -m smac_bench.envs.generate_tasks NAME``.

Run once when a family is created. The tests pin the sha256 of every file, so a regenerated
file that differs is caught: task ids must mean the same MDP forever.
"""

from __future__ import annotations

import sys
from importlib import resources

from smac_bench.envs import FAMILIES, family_spec
from smac_bench.envs.family import write_family

if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(FAMILIES):
        write_family(family_spec(name).generate(), str(resources.files("smac_bench.envs.tasks")))
        print(f"wrote {name}")
