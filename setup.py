"""Ship the repository's ``datasets/`` manifest and behaviour snapshots inside the wheel.

The checkout keeps them at the top level (``datasets/``, next to the dataset cards); a wheel
has no top level, so ``build_py`` copies them to ``smac_bench/_datasets`` where
:mod:`smac_bench.paths` finds them when there is no checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithDatasets(build_py):
    def run(self) -> None:
        super().run()
        src, dst = Path("datasets"), Path(self.build_lib) / "smac_bench" / "_datasets"
        if dst.exists():
            shutil.rmtree(dst)
        dst.mkdir(parents=True)
        shutil.copy2(src / "manifest.json", dst / "manifest.json")
        shutil.copytree(src / "snapshots", dst / "snapshots")


setup(cmdclass={"build_py": BuildPyWithDatasets})
