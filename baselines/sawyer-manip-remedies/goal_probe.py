"""Does the posterior locate a hidden goal on held-out layouts? (issue #18)

Reach and place-puck tasks hide their goal point: only ``z`` can carry it. This probe takes a run's agent,
infers posterior means from offline-style context (the dataset's on training tasks; on held-out tasks the
recipe's simulated data, as in ``heldout_offline_context.py``), and fits two readouts from the posterior mean
to the true goal on the training tasks, a ridge regression and a small MLP. It prints each one's goal error (cm)

* on the training tasks, from fresh context draws (the tasks it was fitted on),
* on training tasks left out of the fit (leave-one-task-out: new goals, cells training uses),
* on the held-out tasks (new goals in cells training never uses),

against guessing the mean training goal. A readout that works on left-out training tasks and fails on
held-out ones says the encoder does not place goals it has never seen; the policy then cannot reach them.

    python baselines/sawyer-manip-remedies/goal_probe.py RUN_DIR [CHECKPOINT [AIMS]]   # AIMS: reach,place_puck
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import torch
from heldout_offline_context import FAMILY, heldout_buffer

from smac_bench.algos.networks import mlp
from smac_bench.data import load_buffer
from smac_bench.envs import task_family
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

HIDDEN_GOAL_AIMS = ("reach", "place_puck")
DRAWS, CONTEXT_SIZE, RIDGE = 4, 64, 1e-2


def posterior_means(infer, buffer, ids: list[int], seed: int) -> np.ndarray:
    """Posterior means from ``DRAWS`` independent contexts per task: [DRAWS, tasks, latent].

    ``infer`` maps a context ``[T, C, dim]`` to the posterior (an agent's ``infer_posterior``, an encoder)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return torch.stack([infer(buffer.sample_context(ids, CONTEXT_SIZE, g)).mean for _ in range(DRAWS)]).numpy()


Readout = Callable[[np.ndarray], np.ndarray]


def with_bias(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def ridge_readout(x: np.ndarray, y: np.ndarray) -> Readout:
    x1 = with_bias(x)
    weights = np.linalg.solve(x1.T @ x1 + RIDGE * np.eye(x1.shape[1]), x1.T @ y)
    return lambda z: with_bias(z) @ weights


def mlp_readout(x: np.ndarray, y: np.ndarray, steps: int = 2000) -> Readout:
    """A small nonlinear readout, for goals that ``z`` holds but not linearly."""
    torch.manual_seed(0)
    net = mlp(x.shape[1], (64, 64), y.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    for _ in range(steps):
        loss = (net(xt) - yt).pow(2).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(z, dtype=torch.float32)).numpy()
    return predict


def error_cm(predicted: np.ndarray, goals: np.ndarray) -> float:
    return float(np.linalg.norm(predicted - goals, axis=-1).mean() * 100)


def readout_error_cm(readout: Readout, x: np.ndarray, y: np.ndarray) -> float:
    return error_cm(readout(x), y)


def report_readouts(fit_z: np.ndarray, fresh_z: np.ndarray, test_z: np.ndarray,
                    train_goals: np.ndarray, test_goals: np.ndarray) -> None:
    """Print each readout's goal error (cm): fitted on ``fit_z`` (``[DRAWS, tasks, latent]``) against
    ``train_goals`` (``[tasks, 3]``), scored on fresh draws, on each task left out of the fit, and on
    ``test_z`` against ``test_goals``; next to guessing the mean training goal."""
    def stacked(z: np.ndarray, goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return z.reshape(-1, z.shape[-1]), np.tile(goals, (z.shape[0], 1))

    x, y = stacked(fit_z, train_goals)
    fresh, held_out = stacked(fresh_z, train_goals), stacked(test_z, test_goals)
    guess = y.mean(0)
    print(f"  guessing the mean training goal: training {error_cm(guess, fresh[1]):.1f}, "
          f"held-out {error_cm(guess, held_out[1]):.1f}")
    for name, fit in (("linear", ridge_readout), ("MLP", mlp_readout)):
        left_out = []
        for i in range(len(train_goals)):
            keep = np.arange(len(train_goals)) != i
            left_out.append(readout_error_cm(fit(*stacked(fit_z[:, keep], train_goals[keep])),
                                             *stacked(fresh_z[:, [i]], train_goals[[i]])))
        readout = fit(x, y)
        print(f"  {name}: training (fresh context) {readout_error_cm(readout, *fresh):.1f}, "
              f"training left out of the fit {np.mean(left_out):.1f}, "
              f"held-out (recipe context) {readout_error_cm(readout, *held_out):.1f}", flush=True)


def hidden_goal_tasks(aims: tuple[str, ...] = HIDDEN_GOAL_AIMS) -> tuple[list[int], list[int], dict[int, np.ndarray]]:
    """Training and held-out ids of the tasks with one of ``aims``, and each one's goal."""
    family, setup = task_family(FAMILY), family_setup(FAMILY)
    hidden = {k for k in range(family.num_tasks) if family.task(k).params["aim"] in aims}
    goal = {k: np.asarray(family.task(k).params["goal"], float) for k in hidden}
    return ([k for k in setup.train_ids if k in hidden], [k for k in setup.test_ids if k in hidden], goal)


def main(run_dir: str, checkpoint: str = "online_end", aims: str = ",".join(HIDDEN_GOAL_AIMS)) -> None:
    torch.set_num_threads(1)
    train, test, goal = hidden_goal_tasks(tuple(aims.split(",")))
    infer = restore(run_dir, checkpoint=checkpoint).infer_posterior
    train_buffer = load_buffer(dataset_id_of(FAMILY))
    test_buffer = heldout_buffer(list(family_setup(FAMILY).test_ids))
    print(f"{run_dir} ({checkpoint}): the hidden goal read from the posterior mean, error in cm "
          f"({len(train)} training, {len(test)} held-out {aims} tasks)")
    report_readouts(posterior_means(infer, train_buffer, train, seed=0),
                    posterior_means(infer, train_buffer, train, seed=1),
                    posterior_means(infer, test_buffer, test, seed=2),
                    np.stack([goal[k] for k in train]), np.stack([goal[k] for k in test]))


if __name__ == "__main__":
    main(*sys.argv[1:])
