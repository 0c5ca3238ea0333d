"""What a policy sees of an observation: its inputs before the first layer (issue #18).

* ``"observation"`` — the observation as the env gives it (every family's default; rlkit's choice).
* ``"hand-relative"`` — Sawyer only: every object's position becomes its offset from the hand, shrunk to at
  most :data:`HAND_RELATIVE_CLIP` metres (the direction is kept); the hand itself, the presence flags, yaws
  and joints stay as they are. A departure from rlkit, whose Sawyer policies read absolute positions.
  Why: held-out layouts put objects and goals in table cells training never uses, and a network fed
  absolute positions meets them off its training data. Offsets near an object look alike wherever it
  stands, and a far object only says which way to go. Measured on the told-task bound ``bc-task``
  (``baselines/sawyer-manip-remedies/README.md``).

The transform has no parameters, so a policy's state dict (and its checkpoints) do not change with it.
"""

from __future__ import annotations

import torch
from torch import nn

from smac_bench.errors import UserError

POLICY_INPUTS = ("observation", "hand-relative")
HAND_RELATIVE_CLIP = 0.1
"""Longest offset a hand-relative input shows (m): ten steps of the hand at full speed."""


class HandRelative(nn.Module):
    """``x = [obs, tail]`` -> the same with the Sawyer obs' object positions as clipped offsets from the hand.

    With ``told_goal`` the tail ends in a goal point (``bc-task``'s told Sawyer features: aim one-hot, then
    the hidden goal, zeros when the aim has none), which becomes an offset too; otherwise the tail (``z``)
    passes unchanged.
    """

    def __init__(self, told_goal: bool = False) -> None:
        super().__init__()
        from smac_bench.envs.sawyer.env import OBS_DIM, SLOT_START  # lazily: the env module imports MuJoCo

        self.obs_dim, self.slot_starts, self.told_goal = OBS_DIM, tuple(SLOT_START.values()), told_goal

    @staticmethod
    def offset(point: torch.Tensor, hand: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``point - hand``, scaled down to length :data:`HAND_RELATIVE_CLIP` if longer; zero where not ``present``."""
        d = point - hand
        return d * (HAND_RELATIVE_CLIP / d.norm(dim=-1, keepdim=True).clamp_min(HAND_RELATIVE_CLIP)) * present

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hand, parts = x[..., 0:3], [x[..., :4]]
        for s in self.slot_starts:
            present = x[..., s:s + 1]
            parts += [present, self.offset(x[..., s + 1:s + 4], hand, present), x[..., s + 4:s + 7]]
        tail = x[..., self.obs_dim:]
        if self.told_goal:
            goal = tail[..., -3:]
            has_goal = (goal != 0).any(-1, keepdim=True).to(x.dtype)
            tail = torch.cat([tail[..., :-3], self.offset(goal, hand, has_goal)], -1)
        return torch.cat([*parts, tail], -1)


def check_policy_inputs(name: str, owner: str = "") -> None:
    """:class:`UserError` unless ``name`` is one of :data:`POLICY_INPUTS`; ``owner`` (e.g. ``"BCConfig."``)
    prefixes the field's name in the message."""
    if name not in POLICY_INPUTS:
        raise UserError(f"{owner}policy_inputs must be one of {', '.join(POLICY_INPUTS)}, not {name!r}")


def policy_inputs(name: str, obs_dim: int, told_goal: bool = False) -> nn.Module:
    """The input transform called ``name`` for observations of ``obs_dim``; :class:`UserError` if it does not fit."""
    check_policy_inputs(name)
    if name == "observation":
        return nn.Identity()
    module = HandRelative(told_goal)
    if obs_dim != module.obs_dim:
        raise UserError(f"policy_inputs {name!r} reads Sawyer observations ({module.obs_dim} numbers), "
                        f"this env's have {obs_dim}: use policy_inputs='observation'")
    return module
