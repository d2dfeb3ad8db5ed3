"""PanoNet post-processing: hand-built embeddings and logits, class-wise
clustering, small/too many clusters, degenerate inputs, settings errors."""
import pytest
import torch

from personlab_mm.decoders import PanoNetDecoder

C, THINGS, OFFSET = 4, 2, 1000


def _logits(classes):
    """(C, h, w) confident logits of a (h, w) class map."""
    return torch.nn.functional.one_hot(classes, C).permute(2, 0, 1).float() \
        * 10.


def _scene():
    """Two instances of class 0 (left/right squares), one of class 1 with
    the SAME embedding as the left square (different classes never
    merge), stuff class 2 elsewhere."""
    h, w, D = 20, 30, 3
    classes = torch.full((h, w), 2)
    emb = torch.zeros(D, h, w)
    classes[2:8, 2:8] = 0
    emb[:, 2:8, 2:8] = torch.tensor([3., 0., 0.])[:, None, None]
    classes[2:8, 20:28] = 0
    emb[:, 2:8, 20:28] = torch.tensor([0., 3., 0.])[:, None, None]
    classes[12:18, 10:15] = 1
    emb[:, 12:18, 10:15] = torch.tensor([3., 0., 0.])[:, None, None]
    return classes, emb


def test_instances_are_the_clusters_of_each_thing_class():
    classes, emb = _scene()
    result = PanoNetDecoder(THINGS, C, bandwidth=0.5, min_instance_area=1,
                            stuff_area=1)(_logits(classes), emb)
    # largest first
    assert result.labels.tolist() == [0, 0, 1]
    masks = {tuple(m.nonzero().min(0).values.tolist()): m.sum().item()
             for m in result.masks}
    assert masks == {(2, 2): 36, (2, 20): 48, (12, 10): 30}
    assert torch.equal(result.semantic, classes)
    # panoptic ids: label + instance * OFFSET on things, stuff as is
    pan = result.panoptic
    assert (pan[classes == 2] == 2).all()
    ids = pan[classes < 2]
    assert set((ids % OFFSET).tolist()) == {0, 1}
    assert len(set((ids // OFFSET).tolist())) == 3
    # confident logits: the mean class probability is ~1
    assert torch.allclose(result.scores, torch.ones(3), atol=1e-3)
    boxes = sorted(result.boxes.tolist())
    assert boxes == [[2., 2., 8., 8.], [10., 12., 15., 18.],
                     [20., 2., 28., 8.]]


def test_per_class_bandwidths_are_used():
    classes, emb = _scene()
    # class 0's two squares are 3 * sqrt(2) = 4.24 apart: one cluster at
    # bandwidth 5, two at 0.5
    wide = PanoNetDecoder(THINGS, C, bandwidth=[5., 0.5],
                          min_instance_area=1)(_logits(classes), emb)
    assert sorted(wide.labels.tolist()) == [0, 1]


def test_small_clusters_join_the_nearest_instance_of_their_class():
    classes, emb = _scene()
    emb[:, 2, 2] = torch.tensor([2., 1., 0.])  # a one-pixel cluster
    kept = PanoNetDecoder(THINGS, C, min_instance_area=2, stuff_area=1)(
        _logits(classes), emb)
    assert len(kept.labels) == 3
    # nearest mean: the left square's (3, 0, 0), which it sits in
    left = kept.panoptic[4, 4]
    assert kept.panoptic[2, 2] == left and left % OFFSET == 0
    assert sorted(m.sum().item() for m in kept.masks) == [30, 36, 48]
    one_pixel = PanoNetDecoder(THINGS, C, min_instance_area=1)(
        _logits(classes), emb)
    assert len(one_pixel.labels) == 4
    assert sorted(m.sum().item() for m in one_pixel.masks)[0] == 1


def test_only_the_largest_max_instances_are_kept():
    classes, emb = _scene()
    result = PanoNetDecoder(THINGS, C, max_instances=2, min_instance_area=1,
                            stuff_area=1)(_logits(classes), emb)
    assert sorted(m.sum().item() for m in result.masks) == [36, 48]
    # the class-1 instance has no kept instance of its class: void
    assert (result.panoptic[12:18, 10:15] == C).all()


def test_an_image_without_things_has_no_instances():
    classes = torch.full((10, 12), 3)
    result = PanoNetDecoder(THINGS, C, stuff_area=1)(
        _logits(classes), torch.randn(5, 10, 12))
    assert result.masks.shape == (0, 10, 12)
    assert result.labels.numel() == result.scores.numel() == 0
    assert result.boxes.shape == (0, 4)
    assert (result.panoptic == 3).all()


def test_equal_embeddings_give_one_instance_per_class():
    classes, _ = _scene()
    result = PanoNetDecoder(THINGS, C, min_instance_area=1)(
        _logits(classes), torch.ones(3, *classes.shape))
    assert sorted(result.labels.tolist()) == [0, 1]


def test_a_hundred_and_twenty_instances_of_one_class():
    g = torch.Generator().manual_seed(0)
    h, w, D = 60, 84, 12
    classes = torch.full((h, w), 2)
    emb = torch.zeros(D, h, w)
    points = torch.randn(120, D, generator=g)
    points = 6 * points / points.norm(dim=1, keepdim=True)
    k = 0
    for y in range(0, 60, 6):
        for x in range(0, 80, 7):
            if k < 120:
                classes[y:y + 5, x:x + 6] = 0
                emb[:, y:y + 5, x:x + 6] = points[k][:, None, None]
                k += 1
    result = PanoNetDecoder(THINGS, C, min_instance_area=1)(
        _logits(classes), emb + 0.02 * torch.randn(emb.shape, generator=g))
    assert len(result.labels) == 120
    assert (result.masks.sum((1, 2)) == 30).all()


def test_non_finite_embeddings_are_refused_by_the_decoder():
    classes, emb = _scene()
    emb[0, 3, 3] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        PanoNetDecoder(THINGS, C)(_logits(classes), emb)


def test_settings_and_shapes_are_checked():
    with pytest.raises(ValueError, match='bandwidth'):
        PanoNetDecoder(THINGS, C, bandwidth=[0.5])
    with pytest.raises(ValueError, match='bandwidth'):
        PanoNetDecoder(THINGS, C, bandwidth=0.)
    with pytest.raises(ValueError, match='max_instances'):
        PanoNetDecoder(THINGS, C, max_instances=1000)
    with pytest.raises(ValueError, match='num_things'):
        PanoNetDecoder(5, C)
    classes, emb = _scene()
    with pytest.raises(ValueError, match='semantic channels'):
        PanoNetDecoder(THINGS, C + 1)(_logits(classes), emb)
    with pytest.raises(ValueError, match='different pixels'):
        PanoNetDecoder(THINGS, C)(_logits(classes), emb[:, :-1])
