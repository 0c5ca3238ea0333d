"""The rlkit-pattern speed baseline (benchmarks/rlkit_pattern.py) does the update it claims to."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from rlkit_pattern import RlkitPatternSMAC  # noqa: E402


def _batch(t: int = 3, b: int = 8, c: int = 5, obs_dim: int = 4, act_dim: int = 2):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(t, b, obs_dim, generator=g), torch.rand(t, b, act_dim, generator=g) * 2 - 1,
            torch.randn(t, b, 1, generator=g), torch.randn(t, b, obs_dim, generator=g), torch.zeros(t, b, 1),
            torch.randn(t, c, obs_dim + act_dim + 1, generator=g))


def test_one_update_trains_every_network_and_moves_targets_by_tau():
    torch.manual_seed(0)
    model = RlkitPatternSMAC(4, 2, hidden=16, encoder_hidden=8, decoder_hidden=8)
    nets = {k: getattr(model, k) for k in ("encoder", "decoder", "policy", "qf1", "qf2")}
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
    targets = [[p.detach().clone() for p in n.parameters()] for n in (model.target_qf1, model.target_qf2)]
    model.update(*_batch())
    for k, net in nets.items():
        assert all(not torch.equal(p, q) for p, q in zip(net.parameters(), before[k], strict=True)), k
    for net, target, old in ((model.qf1, model.target_qf1, targets[0]), (model.qf2, model.target_qf2, targets[1])):
        for p, tp, o in zip(net.parameters(), target.parameters(), old, strict=True):
            torch.testing.assert_close(tp, (1 - model.tau) * o + model.tau * p)


def test_it_does_rlkit_s_forwards_twice_where_rlkit_does():
    """The FLOPs of one update match a hand count of rlkit's forward and backward passes."""
    obs_dim, act_dim, latent, h, e, d = 4, 2, 5, 16, 8, 8
    model = RlkitPatternSMAC(obs_dim, act_dim, latent_dim=latent, hidden=h, encoder_hidden=e, decoder_hidden=d)
    batch = _batch(obs_dim=obs_dim, act_dim=act_dim)
    n, nc = 3 * 8, 3 * 5

    def macs(dims: list[int], rows: int) -> int:
        return rows * sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=False))

    q_in = obs_dim + act_dim + latent
    q, pol = macs([q_in, h, h, h, 1], n), macs([obs_dim + latent, h, h, h], n) + 2 * n * h * act_dim
    enc, dec = macs([obs_dim + act_dim + 1, e, e, e, 2 * latent], nc), macs([q_in, d, d, 1], n)
    first = lambda din, dout, rows: rows * din * dout  # noqa: E731  (no input gradient of the first layer)
    forward = 2 * enc + 2 * pol + 2 * q + 2 * q + 4 * q + dec  # two agent calls; Q(s,a); targets; Q(s,a~) twice
    backward = (2 * enc - first(obs_dim + act_dim + 1, e, nc)) + (2 * dec) + 2 * (2 * q - first(q_in, h, n)) \
        + (2 * pol - first(obs_dim + latent, h, n))
    with FlopCounterMode(display=False) as counter:
        model.update(*batch)
    assert counter.get_total_flops() == 2 * (forward + backward)
