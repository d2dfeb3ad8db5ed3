"""OKS and OKS hard NMS."""
import math

import pytest
import torch
from personlab_testing import standing_person

from personlab_mm.functional import oks_hard_nms, oks_matrix


def test_oks_by_hand():
    kp = torch.tensor([[[0., 0.], [10., 0.]], [[3., 4.], [10., 0.]]])
    oks = oks_matrix(kp, torch.tensor([10., 20.]), torch.tensor([0.5, 0.5]))
    # d^2 = 25 at keypoint 0; 2 lambda^2 kappa^2 = 2 * 100 * 0.25
    assert oks[0, 1].item() == pytest.approx((math.exp(-25 / 50.) + 1.) / 2)
    assert oks[1, 0].item() == pytest.approx(
        (math.exp(-25 / 200.) + 1.) / 2)
    assert oks[0, 0].item() == 1.


def test_oks_hard_nms_drops_duplicates():
    a = torch.tensor(standing_person(100, 100, 150))
    kp = torch.stack([a, a + 1., a + 300.])
    keep = oks_hard_nms(kp, torch.tensor([0.5, 0.9, 0.4]),
                        torch.tensor([100., 100., 100.]),
                        torch.full((17, ), 0.1), 0.5)
    assert keep.tolist() == [1, 2]
    assert oks_hard_nms(kp[:0], torch.zeros(0), torch.zeros(0),
                        torch.full((17, ), 0.1)).numel() == 0
