"""``smac-bench leaderboard render``: the ranked tables (README.md) and a static page (index.html).

Every submission under ``<root>/submissions/`` is validated again and its aggregates recomputed
from raw episodes; invalid folders are listed, never ranked. Entries are grouped by domain
(task family + dataset) and ranked by IQM (normalised when the dataset has reference scores)
with stratified-bootstrap 95% CIs (ties: the CI's low end, then the mean). The page is one
self-contained file: the table sorts with a few lines of inline JS, plots are embedded PNGs, and
every submitted string is escaped for the output it lands in (HTML, Markdown, URLs). ✓ comes from
the ledger ``<root>/verified.json`` alone; a submission whose files repeat another's (same
``submission.json`` or same ``episodes.csv``) is ranked once. Only ``<root>/README.md`` and
``<root>/index.html`` are written.
"""

from __future__ import annotations

import base64
import html
import io
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smac_bench.errors import UserError
from smac_bench.leaderboard import schema as S
from smac_bench.leaderboard.ledger import read_ledger
from smac_bench.leaderboard.schema import SubmissionError
from smac_bench.leaderboard.validate import Entry, validate_submission
from smac_bench.utils.io import atomic_write_text


@dataclass
class Board:
    """Validated entries grouped by ``(env, dataset id, protocol)``, ranked; plus folders that failed.

    The protocol is part of the key: v1 and v2 evaluate differently, so their scores are never ranked together.
    """

    domains: dict[tuple[str, str, str], list[Entry]]
    rejected: list[tuple[str, str]]


def rank_key(entry: Entry) -> tuple:
    """Sort key of a domain's entries: IQM, then the CI's low end, then the mean (all descending), then the name.

    Ties on IQM are common where the reward is sparse (sawyer-manip: most final episodes score -200, IQM 0).
    """
    return -entry.iqm, -entry.ci[0], -entry.mean, entry.meta["method"]


def shown_name(name: str) -> str:
    """A folder name as ASCII: non-UTF-8 bytes, bidi overrides and control characters escaped."""
    return name.encode("ascii", "backslashreplace").decode("ascii") if not S.SAFE_NAME.match(name) else name


def collect(root: str | os.PathLike[str] = "leaderboard", **validate_kwargs: Any) -> Board:
    """Validate every ``<root>/submissions/*`` folder; rank each domain by IQM (then CI low end, then mean)."""
    folder = Path(root) / "submissions"
    ledger = read_ledger(root)
    domains: dict[tuple[str, str], list[Entry]] = {}
    rejected: list[tuple[str, str]] = []
    seen: dict[str, str] = {}  # sha256 of submission.json / episodes.csv -> first folder holding it
    if folder.is_dir():
        for sub in sorted(folder.iterdir(), key=lambda p: p.name):
            if sub.name.startswith("."):  # .gitkeep, half-written .tmp folders of submit
                continue
            if not S.SAFE_NAME.match(sub.name):
                rejected.append((shown_name(sub.name), "unsafe folder name (letters, digits, '.', '_', '-' only)"))
                continue
            try:
                entry = validate_submission(sub, **validate_kwargs)
            except SubmissionError as exc:
                rejected.append((sub.name, str(exc)))
                continue
            copies = [seen[key] for key in (entry.submission_sha256, entry.meta["files"][S.EPISODES_FILE])
                      if key in seen]
            if copies:
                rejected.append((sub.name, f"a copy of submission {copies[0]} (same files): ranked once"))
                continue
            seen[entry.submission_sha256] = seen[entry.meta["files"][S.EPISODES_FILE]] = sub.name
            entry.verification = ledger.get(entry.submission_sha256)
            key = (entry.meta["env"], entry.meta["dataset"]["id"], entry.meta["protocol"])
            domains.setdefault(key, []).append(entry)
    for entries in domains.values():
        entries.sort(key=rank_key)
    return Board(domains=dict(sorted(domains.items())), rejected=rejected)


def _score_label(entries: list[Entry]) -> str:
    return "IQM normalised score" if all(e.normalised for e in entries) else "IQM return"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


# Inline Markdown markup; "<", ">" and "&" become HTML entities instead (GitHub renders inline HTML).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]()!|~"})


def _md(text: str) -> str:
    """Submitted text as literal Markdown: every markup character escaped, line breaks folded."""
    flat = " ".join(str(text).split())
    return html.escape(flat.translate(_MD_SPECIAL), quote=False)


def _url(url: str) -> str:
    """A submitted link with every character that Markdown or a table could read percent-encoded."""
    return urllib.parse.quote(url.strip(), safe=":/?#@!$&+,;=%-._~")


def _links(meta: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, _url(meta[key])) for label, key in (("paper", "paper_url"), ("code", "code_url"))
            if meta.get(key)]


def _verified_cell(e: Entry) -> str:
    """✓ with the re-evaluated score beside it, from the ledger."""
    if not e.verified:
        return ""
    score = e.verification.get("reevaluated", {}).get("iqm") if e.verification else None
    return "✓" if not isinstance(score, (int, float)) else f"✓ {score:.3f}"


def render_markdown(board: Board) -> str:
    """The leaderboard README: one ranked table per domain."""
    lines = [
        "# smac-bench leaderboard",
        "",
        "<!-- Generated by `smac-bench leaderboard render`; do not edit by hand. -->",
        "",
        "Scores are recomputed from each submission's raw `episodes.csv` (final evaluation, exploration "
        "context on the held-out test tasks); each table holds one dataset and one protocol (v1 or v2: "
        "entries of different protocols are never ranked together). Entries are ranked by the interquartile mean (IQM) "
        "over all seed × task scores, normalised with the dataset's reference scores; the 95% confidence "
        "interval is a stratified bootstrap over seeds; ties go to the higher CI low end, then the higher mean. "
        "✓ = checkpoints re-evaluated by `smac-bench leaderboard "
        "verify` on evaluation seeds the submitter did not choose, and the scores agreed.",
        "",
        "How to submit: see [the submission guide](#submitting). The sortable page with plots is `index.html`.",
        "",
    ]
    if not board.domains:
        lines += ["_No entries yet._", ""]
    for (env, dataset, protocol), entries in board.domains.items():
        label = _score_label(entries)
        # env, dataset id and protocol are checked by the schema and validate (no markup characters)
        lines += [f"## {_md(env)} — `{dataset}` — protocol {protocol}", "",
                  f"| Rank | Method | {label} | 95% CI | Mean | Success | Seeds | Verified | Links | Date |",
                  "|---:|---|---:|---|---:|---:|---:|:---:|---|---|"]
        for rank, e in enumerate(entries, start=1):
            links = [f"[{name}](<{url}>)" for name, url in _links(e.meta)]  # <> : URLs may hold ")"
            links.append(f"[files](submissions/{_url(e.path.name)}/)")
            lines.append(
                f"| {rank} | {_md(e.meta['method'])} | {_fmt(e.iqm)} | [{_fmt(e.ci[0])}, {_fmt(e.ci[1])}] | "
                f"{_fmt(e.mean)} | {_fmt(e.final.success_rate, 2)} | {len(e.final.seeds)} | "
                f"{_verified_cell(e)} | {' · '.join(links)} | {_md(e.meta['created'])} |"
            )
        lines.append("")
    if board.rejected:
        lines += ["## Submissions that failed validation", ""]
        lines += [f"- {_md(name)}: {_md(reason)}" for name, reason in board.rejected]
        lines.append("")
    lines += [
        "## Submitting",
        "",
        "```bash",
        "smac-bench evaluate --algo YOURS --env cheetah-vel --seeds 0-4 --preset paper --out runs/",
        "smac-bench leaderboard submit runs/* --method 'Your method' --author 'You' \\",
        "    --paper-url https://... --code-url https://... --hardware '1x A100' --compute online_env_steps=...",
        "smac-bench leaderboard validate leaderboard/submissions/<date>_<method>/ --incoming",
        "```",
        "",
        "Open a pull request adding the folder. At least 5 seeds; protocol v1 or v2 at paper values; the published "
        "dataset (its sha256 is checked). Checkpoints (safetensors + JSON only, no pickle) let maintainers verify "
        "the entry. Aggregates are never read from the submission: they are recomputed here.",
        "",
        "A submission folder holds exactly these files (anything else, symlinks, hidden files and pickles are "
        "refused):",
        "",
        "| file | content |",
        "|---|---|",
        "| `submission.json` | method, authors, paper/code links, code commit, package versions, hardware, declared "
        "compute budget, protocol, dataset id + sha256, seeds, sha256 of every other file; schema: "
        "`smac_bench/leaderboard/submission.schema.json` |",
        "| `episodes.csv` | one row per evaluated episode of every seed, as `smac-bench evaluate` writes it: "
        "`protocol, algo, env, seed, phase, train_step, task_id, run, context_source, split, return, success` |",
        "| `configs/seed<N>.json` | the resolved run config of each seed |",
        "| `checkpoints/seed<N>/*.safetensors`, `*.json` | optional final policy of each seed (for verify) |",
        "| `README.md` | optional notes (shown as plain text only) |",
        "",
        "Validation checks the schema, the protocol (`v1` or `v2`), the dataset sha256 against "
        "`datasets/manifest.json`, that "
        "the final evaluation covers exactly the held-out test tasks with every (seed, task, run) once, the same "
        "final training point for every seed, ≥ 5 seeds, finite numbers, size caps (episodes.csv ≤ 64 MiB), and "
        "every file's sha256. `verify` re-runs the checkpoints through the harness with evaluation seeds derived "
        "from the submission's hash and a salt, and marks the entry verified when the re-evaluated IQM and the "
        "submitted one each fall inside the other's 95% CI (either direction suffices).",
        "",
    ]
    return "\n".join(lines)


def _plot_domain(entries: list[Entry], title: str) -> str:
    """Base64 PNG: IQM with 95% CI per method, and mean return along training per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_bar, ax_curve) = plt.subplots(1, 2, figsize=(10, 0.5 * len(entries) + 2.5))
    names = [e.meta["method"] for e in entries][::-1]
    values = [e.iqm for e in entries][::-1]
    errors = [[e.iqm - e.ci[0] for e in entries][::-1], [e.ci[1] - e.iqm for e in entries][::-1]]
    ax_bar.errorbar(values, range(len(entries)), xerr=errors, fmt="o", capsize=4)
    ax_bar.set_yticks(range(len(entries)), names)
    ax_bar.set_xlabel(_score_label(entries) + " (95% CI)")
    ax_bar.grid(axis="x", alpha=0.3)
    for e in entries:
        # The harness's train_step counts offline updates, then continues with online env steps.
        ax_curve.plot([t for _, t, _ in e.final.curve], [v for _, _, v in e.final.curve], marker=".",
                      label=e.meta["method"])
    ax_curve.set_xlabel("training step (offline, then online)")
    ax_curve.set_ylabel("mean held-out return")
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_SORT_JS = """
function sortTable(table, col, dir) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const key = (r) => { const c = r.cells[col]; const v = c.getAttribute('data-value');
    return v !== null && v !== '' && !isNaN(Number(v)) ? Number(v) : c.textContent.trim().toLowerCase(); };
  rows.sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir; });
  rows.forEach((r) => body.appendChild(r));
  const name = table.tHead.rows[0].cells[col].getAttribute('data-key');
  table.setAttribute('data-sorted', name + (dir > 0 ? ':asc' : ':desc'));
}
document.querySelectorAll('table.board').forEach((table) => {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, i) => th.addEventListener('click', () => {
    const dir = th.getAttribute('data-dir') === 'desc' ? 1 : -1;
    heads.forEach((h) => h.removeAttribute('data-dir'));
    th.setAttribute('data-dir', dir > 0 ? 'asc' : 'desc');
    sortTable(table, i, dir);
  }));
  // "#sort=<key>:<asc|desc>" picks the initial order (default: IQM, best first).
  const m = /sort=([a-z]+):?(asc|desc)?/.exec(location.hash);
  const want = m ? m[1] : 'iqm';
  const col = Math.max(0, heads.findIndex((h) => h.getAttribute('data-key') === want));
  sortTable(table, col, m && m[2] === 'asc' ? 1 : -1);
});
document.body.setAttribute('data-ready', 'yes');
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; color: #222; }
table.board { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
table.board th, table.board td { border-bottom: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; }
table.board th { cursor: pointer; background: #f4f4f4; user-select: none; }
table.board th[data-dir=asc]::after { content: " ▲"; } table.board th[data-dir=desc]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } img { max-width: 100%; }
"""


def render_html(board: Board, plot: Callable[[list[Entry], str], str] | None = _plot_domain) -> str:
    """The static page: one sortable table (and plot) per domain."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>smac-bench leaderboard</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>smac-bench leaderboard</h1>",
             "<p>IQM over seed × held-out-task scores (final evaluation; one protocol a table), recomputed from raw "
             "episodes; "
             "95% stratified-bootstrap CIs; ✓ = re-evaluated by the maintainers. Click a column to sort.</p>"]
    if not board.domains:
        parts.append("<p><em>No entries yet.</em></p>")
    heads = [("rank", "Rank"), ("method", "Method"), ("iqm", "IQM"), ("ci", "95% CI"), ("mean", "Mean"),
             ("success", "Success"), ("seeds", "Seeds"), ("verified", "Verified"), ("links", "Links"),
             ("date", "Date")]
    for (env, dataset, protocol), entries in board.domains.items():
        domain_id = esc(f"{env}--{dataset}--{protocol}".replace("/", "-"))
        parts.append(f'<h2 id="{domain_id}">{esc(env)} — <code>{esc(dataset)}</code> — protocol {esc(protocol)}</h2>')
        parts.append(f"<p>{esc(_score_label(entries))}</p>")
        head = "".join(f'<th data-key="{k}">{esc(label)}</th>' for k, label in heads)
        parts.append(f'<table class="board"><thead><tr>{head}</tr></thead><tbody>')
        for rank, e in enumerate(entries, start=1):
            links = [f'<a href="{esc(url)}" rel="nofollow noopener">{name}</a>' for name, url in _links(e.meta)]
            links.append(f'<a href="submissions/{esc(e.path.name)}/">files</a>')
            success = e.final.success_rate
            cells = [
                f'<td class="num" data-value="{rank}">{rank}</td>',
                f"<td>{esc(e.meta['method'])}</td>",
                f'<td class="num" data-value="{e.iqm!r}">{_fmt(e.iqm)}</td>',
                f'<td data-value="{e.ci[0]!r}">[{_fmt(e.ci[0])}, {_fmt(e.ci[1])}]</td>',
                f'<td class="num" data-value="{e.mean!r}">{_fmt(e.mean)}</td>',
                f'<td class="num" data-value="{"" if success is None else repr(success)}">{_fmt(success, 2)}</td>',
                f'<td class="num" data-value="{len(e.final.seeds)}">{len(e.final.seeds)}</td>',
                f'<td data-value="{int(e.verified)}">{esc(_verified_cell(e))}</td>',
                f"<td>{' · '.join(links)}</td>",
                f"<td>{esc(e.meta['created'])}</td>",
            ]
            parts.append(f'<tr data-method="{esc(e.meta["method"])}">{"".join(cells)}</tr>')
        parts.append("</tbody></table>")
        if plot is not None:
            png = plot(entries, f"{env} — {dataset}")
            parts.append(f'<img alt="{esc(env)} comparison" src="data:image/png;base64,{png}">')
    if board.rejected:
        parts.append("<h2>Submissions that failed validation</h2><ul>")
        parts += [f"<li><code>{esc(name)}</code>: {esc(reason)}</li>" for name, reason in board.rejected]
        parts.append("</ul>")
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def render(root: str | os.PathLike[str] = "leaderboard", *, plots: bool = True, **validate_kwargs: Any) -> Board:
    """Collect the submissions under ``root`` and write ``root/README.md`` and ``root/index.html``."""
    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        raise UserError(f"{root} is not a leaderboard folder (run from the repository root or pass --root)")
    for name in ("README.md", "index.html"):
        target = root / name
        if os.path.lexists(target) and (target.is_symlink() or not target.is_file()):
            raise UserError(f"{target} exists and is not a plain file; remove it so render can write the page")
    board = collect(root, **validate_kwargs)
    atomic_write_text(root / "README.md", render_markdown(board))
    atomic_write_text(root / "index.html", render_html(board, _plot_domain if plots else None))
    return board
