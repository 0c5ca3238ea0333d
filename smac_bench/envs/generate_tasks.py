"""Regenerate the frozen task files: ``python -m smac_bench.envs.generate_tasks NAME``.

Run once when a family is created. The tests pin the sha256 of every file, so a regenerated
file that differs is caught: task ids must mean the same MDP forever.
"""

from __future__ import annotations

import sys
from importlib import import_module, resources

from smac_bench.envs.family import GENERATORS, write_family

MODULES = ("smac_bench.envs.cheetah_vel", "smac_bench.envs.ant_dir", "smac_bench.envs.sawyer.tasks")

if __name__ == "__main__":
    for module in MODULES:
        import_module(module)
    for name in sys.argv[1:] or sorted(GENERATORS):
        write_family(GENERATORS[name](), str(resources.files("smac_bench.envs.tasks")))
        print(f"wrote {name}")
