"""The leaderboard submission format: layout, limits, the published JSON Schema, safe readers.

A submission is a folder (``leaderboard/submissions/<date>_<method>/``)::

    submission.json              metadata, checked against ``submission.schema.json``
    episodes.csv                 every evaluated episode of every seed (protocol v1 rows)
    configs/seed<N>.json         resolved run config of each training seed
    checkpoints/seed<N>/*.safetensors|*.json   optional policy checkpoints (verify re-runs them)
    README.md                    optional free text (never rendered as HTML)

Verdicts of ``smac-bench leaderboard verify`` live outside every submission, in the ledger
``leaderboard/verified.json`` (:mod:`smac_bench.leaderboard.ledger`); a verification file inside a
submission is refused.

Everything here treats the folder as hostile: a whitelist of names, no symlinks, size caps
checked with ``lstat`` before any byte is read, JSON without NaN/Infinity or duplicate keys.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

from smac_bench.errors import UserError

SCHEMA_VERSION = 1
# Only paper-valued protocol scores are comparable; "v1(R=..)"-style labels (cut R or K) are refused.
# v1 and v2 entries are ranked in separate tables, never against each other.
ACCEPTED_PROTOCOLS = ("v1", "v2")
MIN_SEEDS = 5

SUBMISSION_FILE = "submission.json"
EPISODES_FILE = "episodes.csv"
VERIFICATION_FILE = "verification.json"  # the old in-folder verdict: refused, never read
README_FILE = "README.md"

# Columns every episodes.csv row carries (the harness's tidy format); extra columns are ignored.
REQUIRED_COLUMNS = (
    "protocol", "algo", "env", "seed", "phase", "train_step", "task_id", "run", "context_source", "return", "success",
)
OPTIONAL_COLUMNS = ("split",)
PHASES = ("offline", "online")  # in training order: the final evaluation is in the later phase
CONTEXT_SOURCES = ("exploration", "offline")
HEADLINE_CONTEXT = "exploration"

# Caps (bytes / counts). Checked from lstat before reading, so a sparse 1 TB file costs nothing.
MAX_JSON_BYTES = 256 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_README_BYTES = 256 * 1024
MAX_EPISODES_BYTES = 64 * 1024 * 1024
MAX_CHECKPOINT_FILE_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_FILES = 2000
MAX_DEPTH = 3
MAX_ROWS = 2_000_000
MAX_COLUMNS = 32
MAX_LEDGER_BYTES = 8 * 1024 * 1024
MAX_TENSOR_DIM = 1 << 20  # no network of a registered agent has a layer this wide
MAX_CONFIG_DEPTH = 16

# Per-step reward bounds of each family, from its reward definition and physical limits; an
# episode return outside horizon x bounds cannot come from the simulator and is refused.
# cheetah-vel: r = -|v_x - v_goal| - 0.05|a|^2 with a in [-1, 1]^6, v_goal in [0, 3] and |v_x| below
#   50 m/s (a HalfCheetah tops out near 20): r in [-50 - 3 - 0.3, 0].
# ant-dir: r = v.(cos, sin) - 0.5|a|^2 - 5e-4|clip(cfrc_ext, -1, 1)|^2 + 1 with a in [-1, 1]^8, 84
#   contact entries and torso speed below 20 m/s: r in [-20 - 4 - 0.042, 20 + 1].
# sawyer-manip (sparse): r = success - 1 in {-1, 0}.
REWARD_BOUNDS: dict[str, tuple[float, float]] = {
    "cheetah-vel": (-53.3, 0.0),
    "ant-dir": (-24.05, 21.0),
    "sawyer-manip": (-1.0, 0.0),
}

# A file or folder name: no leading dot (hidden files, "..") and no separators or odd characters.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SEED_TEXT = re.compile(r"(0|[1-9][0-9]{0,9})")  # with fullmatch; int() must stay below 2**32
CONFIG_PATH = re.compile(r"^configs/seed([0-9]{1,10})\.json$")
CHECKPOINT_PATH = re.compile(r"^checkpoints/seed([0-9]{1,10})/[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(safetensors|json)$")
ROOT_FILES = (SUBMISSION_FILE, EPISODES_FILE, README_FILE)

# Leading bytes of formats that can execute code when loaded (pickle protocols 2-5, torch zip).
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


class SubmissionError(UserError):
    """A submission is invalid: carries every problem found, the message lists them on one line."""

    def __init__(self, problems: list[str], where: str = "submission") -> None:
        self.problems = list(problems)
        super().__init__(f"{where} is invalid: " + "; ".join(self.problems))


@cache
def submission_schema() -> dict[str, Any]:
    """The published JSON Schema of ``submission.json`` (shipped inside the package)."""
    text = resources.files("smac_bench.leaderboard").joinpath("submission.schema.json").read_text()
    return json.loads(text)


def return_bounds(env: str, horizon: int) -> tuple[float, float] | None:
    """The widest episode returns a real episode of ``env`` can have (``None``: family unknown here)."""
    if env not in REWARD_BOUNDS:
        return None
    low, high = REWARD_BOUNDS[env]
    return low * horizon, high * horizon


def unsafe_text(text: str, allow_newlines: bool = False) -> str | None:
    """The first control, format (e.g. the U+202E bidi override) or line-separator character, or ``None``.

    Such characters rewrite what a table, terminal or page shows (and ``$`` in a regex matches
    before a final newline), so submitted text never carries them.
    """
    for ch in text:
        if allow_newlines and ch == "\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            return f"U+{ord(ch):04X}"
    return None


def text_problems(value: Any, where: str = "submission.json", depth: int = 0) -> list[str]:
    """Every string (and key) in a parsed JSON value that carries :func:`unsafe_text` characters."""
    if depth > MAX_CONFIG_DEPTH:
        return [f"{where} is nested more than {MAX_CONFIG_DEPTH} levels deep"]
    problems: list[str] = []
    if isinstance(value, str):
        bad = unsafe_text(value, allow_newlines=where.endswith("/notes"))
        if bad:
            problems.append(f"{where} holds the control/format character {bad}")
    elif isinstance(value, dict):
        for key, item in value.items():
            problems += text_problems(key, f"{where} key", depth + 1)
            problems += text_problems(item, f"{where}/{key}"[:120], depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems += text_problems(item, f"{where}/{i}", depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{where} is not finite")
    return problems[:8]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(data: bytes, what: str) -> Any:
    """Parse JSON bytes refusing NaN/Infinity, duplicate keys, bad UTF-8 and absurd nesting.

    Raises :class:`SubmissionError` with one clear problem instead of a parser traceback.
    """
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as exc:
        raise SubmissionError([f"{what} is not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    except RecursionError:
        raise SubmissionError([f"{what} is nested too deeply"]) from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise SubmissionError([f"{what} is not valid JSON: {exc}"]) from None


def schema_problems(meta: Any) -> list[str]:
    """Messages for every way ``meta`` breaks the published schema (empty when it conforms)."""
    import jsonschema  # listed in pyproject; imported here so ``import smac_bench`` stays light

    validator = jsonschema.Draft202012Validator(submission_schema())
    problems = []
    errors = sorted(validator.iter_errors(meta), key=lambda e: [str(p) for p in e.absolute_path])
    for err in errors[:8]:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        # jsonschema echoes the offending value; cut it so a huge value cannot flood the message.
        message = err.message if len(err.message) <= 200 else err.message[:200] + "..."
        top = str(err.absolute_path[0]) if err.absolute_path else ""
        if err.validator == "pattern" and top in _PATTERN_HINTS:
            message += f" ({top} {_PATTERN_HINTS[top]})"
        problems.append(f"submission.json {where}: {message}")
    if len(errors) > 8:
        problems.append(f"and {len(errors) - 8} more schema errors")
    return problems


# What a regex in the schema means, for humans reading the error.
_PATTERN_HINTS = {
    "paper_url": "must be an http:// or https:// link",
    "code_url": "must be an http:// or https:// link",
    "files": "names must be relative paths inside the folder: no '..', no leading '/' or '.'",
    "method": "may use letters, digits, spaces and ._+()- (at most 64 characters)",
    "algo": "must be a registered agent name: lowercase letters, digits, '_' and '-'",
    "env": "must be a task family name such as cheetah-vel",
    "code_commit": "must be a hex git commit",
    "created": "must be a date YYYY-MM-DD",
    "dataset": "id must be a dataset id and sha256 64 lowercase hex digits",
    "checkpoints": "maps a seed to checkpoints/seed<N>",
}
