"""The multi-task tensor buffer: layout, per-task sampling, ring appends, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from smac_bench.data.buffer import MultiTaskBuffer, sample, sample_context


def _buffer(capacity=None):
    # Transition i of task t carries the value 100 * t + i in every field, so a sample tells
    # exactly which task and row it came from.
    task_ids = np.array([3, 1, 3, 1, 1, 7, 3, 3, 1, 7])
    value = np.zeros(len(task_ids))
    for t in np.unique(task_ids):
        rows = np.flatnonzero(task_ids == t)
        value[rows] = 100 * t + np.arange(len(rows))
    obs = np.stack([value, -value], 1)
    return MultiTaskBuffer.from_arrays(obs, value[:, None], value, obs, np.zeros(10), task_ids, capacity)


def test_from_arrays_groups_rows_by_task_in_original_order():
    buf = _buffer()
    assert buf.task_ids == [1, 3, 7]
    assert buf.sizes.tolist() == [4, 4, 2] and len(buf) == 10
    assert buf.obs[:, :, 0].tolist() == [[100, 101, 102, 103], [300, 301, 302, 303], [700, 701, 0, 0]]


def test_sample_returns_only_the_requested_tasks_rows():
    buf = _buffer()
    batch = buf.sample([7, 1, 7], 64, torch.Generator().manual_seed(0))
    assert batch.obs.shape == (3, 64, 2) and batch.rewards.shape == (3, 64, 1)
    task_of_sample = (batch.rewards[..., 0] // 100).long()
    assert task_of_sample.tolist() == [[7] * 64, [1] * 64, [7] * 64]
    assert set(batch.rewards[0, :, 0].tolist()) == {700.0, 701.0}  # never the padding
    assert set(batch.rewards[1, :, 0].tolist()) == {100.0, 101.0, 102.0, 103.0}


def test_context_rows_are_state_action_reward():
    ctx = _buffer().sample_context([3], 5, torch.Generator().manual_seed(1))
    assert ctx.shape == (1, 5, 2 + 1 + 1)
    np.testing.assert_array_equal(ctx[0, :, 0], -ctx[0, :, 1])
    np.testing.assert_array_equal(ctx[0, :, 0], ctx[0, :, 3])


def test_sampling_is_deterministic_given_a_generator():
    buf = _buffer()
    a = buf.sample([1, 3], 16, torch.Generator().manual_seed(5)).obs
    b = buf.sample([1, 3], 16, torch.Generator().manual_seed(5)).obs
    assert torch.equal(a, b)


def test_add_appends_then_overwrites_oldest_when_full():
    buf = _buffer()
    buf.add(7, np.full((3, 2), 9.0), np.ones((3, 1)), np.ones(3), np.ones((3, 2)), np.zeros(3))
    assert buf.obs[2, :, 0].tolist() == [9, 701, 9, 9]  # ring: positions 2, 3, then 0
    assert buf.sizes.tolist() == [4, 4, 4]


def test_capacity_truncates_and_unknown_task_is_a_clear_error():
    buf = _buffer(capacity=2)
    assert buf.sizes.tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="task 5 is not in this buffer"):
        buf.sample([5], 1)


def _old_pooled(offline, online, slots, n, generator):
    """The two-buffer sampler the agents used before the named-buffer one (kept to pin its random stream)."""
    n_off = offline.sizes[slots]
    total = n_off + online.sizes[slots]
    idx = (torch.rand(len(slots), n, generator=generator) * total[:, None]).long()
    from_off = idx < n_off[:, None]
    i_off, i_on = idx.clamp(max=offline.capacity - 1), (idx - n_off[:, None]).clamp(0, online.capacity - 1)
    rows = slots[:, None]
    return torch.where(from_off[..., None], offline.obs[rows, i_off], online.obs[rows, i_on])


def test_pooled_sampling_draws_uniformly_over_the_union_of_named_buffers():
    offline = _buffer()
    online = MultiTaskBuffer(offline.task_ids, 8, 2, 1)
    online.add(1, np.full((6, 2), 5000.0), np.ones((6, 1)), np.ones(6), np.ones((6, 2)), np.zeros(6))
    slots = torch.tensor([0, 1, 0, 2])
    got = sample([offline, online], slots, 4000, torch.Generator().manual_seed(3)).obs
    assert torch.equal(got, _old_pooled(offline, online, slots, 4000, torch.Generator().manual_seed(3)))
    from_online = (got[0, :, 0] == 5000).float().mean()  # task 1: 4 offline rows, 6 online ones
    assert abs(float(from_online) - 0.6) < 0.05
    assert not (got[1, :, 0] == 5000).any()  # task 3 has no online rows
    ctx = sample_context([offline], slots, 5, torch.Generator().manual_seed(1))
    assert torch.equal(ctx, offline.sample_context([1, 3, 1, 7], 5, torch.Generator().manual_seed(1)))
    three = sample([offline, online, online], slots, 50, torch.Generator().manual_seed(0)).obs
    assert three.shape == (4, 50, 2)


def test_preferring_reads_the_preferred_buffer_of_a_task_that_has_rows_and_the_fallback_otherwise():
    from smac_bench.data.buffer import sample_context_preferring

    offline = _buffer()
    exploration = MultiTaskBuffer(offline.task_ids, 8, 2, 1)
    exploration.add(1, np.full((3, 2), 5000.0), np.ones((3, 1)), np.ones(3), np.ones((3, 2)), np.zeros(3))
    slots = torch.tensor([0, 1, 2, 0])  # tasks 1 (has exploration rows), 3, 7, 1
    ctx = sample_context_preferring(exploration, offline, slots, 200, torch.Generator().manual_seed(0))
    assert ctx.shape == (4, 200, 2 + 1 + 1)
    assert (ctx[[0, 3], :, 0] == 5000).all()  # only the 3 exploration rows, never task 1's offline ones
    assert set(ctx[1, :, 0].tolist()) == {300.0, 301.0, 302.0, 303.0}  # all of task 3's offline rows
    assert set(ctx[2, :, 0].tolist()) == {700.0, 701.0}
    with pytest.raises(ValueError):
        sample_context_preferring(exploration, MultiTaskBuffer(offline.task_ids, 8, 2, 1), slots, 5)


def test_a_growing_buffer_allocates_as_rows_arrive_and_samples_as_a_preallocated_one():
    offline = _buffer()
    full = MultiTaskBuffer(offline.task_ids, 8, 2, 1, with_episode_returns=True)
    grown = MultiTaskBuffer(offline.task_ids, 8, 2, 1, with_episode_returns=True, grow=True)
    assert grown.width == 1 and full.width == 8
    rng = np.random.default_rng(0)
    widths = []
    for task, n in ((1, 2), (3, 1), (1, 3), (7, 2), (1, 6)):  # task 1 wraps: 11 rows into 8
        rows = rng.normal(size=(n, 2))
        for buf in (full, grown):
            buf.add(task, rows, rows[:, :1], rows[:, 0], rows, np.zeros(n), rows[:, 1])
        widths.append(grown.width)
    assert widths == [2, 2, 5, 5, 8]  # doubling or what one add needs, never past the capacity
    slots = torch.tensor([0, 1, 2, 0])
    for sources in ([offline, grown], [grown]):
        twin = [full if s is grown else s for s in sources]
        assert torch.equal(sample(sources, slots, 64, torch.Generator().manual_seed(2)).obs,
                           sample(twin, slots, 64, torch.Generator().manual_seed(2)).obs)
    small = MultiTaskBuffer(offline.task_ids, 8, 2, 1, grow=True)
    small.add(3, np.ones((2, 2)), np.ones((2, 1)), np.ones(2), np.ones((2, 2)), np.zeros(2))
    tensors, meta = small.state()
    again = MultiTaskBuffer.from_state(tensors, meta)
    assert again.grow and again.width == 2 and torch.equal(again.obs, small.obs)
