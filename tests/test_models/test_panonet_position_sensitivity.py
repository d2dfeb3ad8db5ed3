"""Position-sensitive embeddings (PanoNet Fig. 5): an image made of one
instance and its mirror copy. A small PanoNet trained (seeded, on the CPU,
in seconds) on images of identical twin objects separates the two copies
when its instance branch sees the coordinate channels, and merges them
without: the copies look the same to a translation-equivariant network
whose receptive field sees neither the other copy nor a border."""
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData

import personlab_mm  # noqa: F401

H, W = 64, 128
SIZE = 16  # object side (pixels)
# ResNet stem + layer 1: stride 4, receptive field 43 px
BRANCH = dict(type='ResNet', depth=18, num_stages=1, out_indices=(0, ),
              base_channels=16, stem_channels=16, strides=(1, ),
              dilations=(1, ), norm_cfg=dict(type='BN'))


def _cfg(coordinates: bool) -> dict:
    return dict(
        type='PanoNet',
        _scope_='mmdet',
        data_preprocessor=dict(type='DetDataPreprocessor',
                               mean=[0., 0., 0.], std=[255., 255., 255.]),
        semantic_backbone=BRANCH,
        instance_backbone=dict(BRANCH, in_channels=5 if coordinates else 3),
        coordinates=coordinates,
        head=dict(type='PanoNetHead', in_channels=16, num_things_classes=1,
                  num_stuff_classes=1, feature_strides=(4, ),
                  output_strides=(4, ), scale_weights=(1., ), channels=16,
                  embedding_dims=4, dropout=0.,
                  test_cfg=dict(bandwidth=0.5, min_instance_area=4,
                                stuff_area=1)))


def _object() -> np.ndarray:
    """A left-right symmetric object (a ring around a bright core): its
    mirror copy is a translated copy."""
    y, x = np.mgrid[:SIZE, :SIZE] + 0.5 - SIZE / 2
    r = np.hypot(x, y)
    img = np.zeros((SIZE, SIZE, 3), np.float32)
    img[r < SIZE / 2] = (200, 60, 40)
    img[r < SIZE / 4] = (250, 220, 80)
    return img


def _twins(x0: int, x1: int, y: int):
    """Image (3, H, W) with the object at columns x0 and x1, row y, and
    its data sample (class 0 = object, 1 = background)."""
    img = np.full((H, W, 3), 90, np.float32)
    seg = np.ones((H, W), np.uint8)
    masks = np.zeros((2, H, W), np.uint8)
    obj = _object()
    inside = obj.sum(-1) > 0
    for k, x in enumerate((x0, x1)):
        img[y:y + SIZE, x:x + SIZE][inside] = obj[inside]
        seg[y:y + SIZE, x:x + SIZE][inside] = 0
        masks[k, y:y + SIZE, x:x + SIZE][inside] = 1
    sample = DetDataSample(metainfo=dict(
        img_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.),
        batch_input_shape=(H, W), pad_shape=(H, W), img_path='twins'))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(seg)[None])
    sample.gt_instances = InstanceData(masks=BitmapMasks(masks, H, W),
                                       labels=torch.tensor([0, 0]))
    return torch.from_numpy(img).permute(2, 0, 1), sample


def _train(coordinates: bool):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = MODELS.build(_cfg(coordinates))
    model.init_weights()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(120):
        batch = []
        for _ in range(4):
            x0 = int(rng.integers(24, 48))
            x1 = int(rng.integers(x0 + SIZE + 8, W - 24 - SIZE))
            batch.append(_twins(x0, x1, int(rng.integers(20, 28))))
        data = model.data_preprocessor(
            dict(inputs=[b[0] for b in batch],
                 data_samples=[b[1] for b in batch]), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    return model.eval()


def _instances_of_the_mirrored_copies(model):
    # columns 28..44 and their mirror image 84..100 about the middle (64):
    # 56 px apart (14 output cells), 28 px from the borders, 24 px from
    # each other, rows 24..40
    image, sample = _twins(28, W - 28 - SIZE, 24)
    data = model.data_preprocessor(
        dict(inputs=[image], data_samples=[sample]), False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])[0]
    pan = out.pred_panoptic_seg.sem_seg[0]
    gt = sample.gt_instances.masks.to_ndarray().astype(bool)
    left = pan[torch.from_numpy(gt[0])]
    right = pan[torch.from_numpy(gt[1])]
    # each copy's (majority) panoptic id
    return left.mode().values.item(), right.mode().values.item(), out


def test_coordinates_separate_the_mirrored_copies():
    left, right, out = _instances_of_the_mirrored_copies(_train(True))
    assert left != right
    assert left % 1000 == right % 1000 == 0  # both objects, own instances
    assert len(out.pred_instances.labels) == 2


def test_without_coordinates_the_mirrored_copies_merge():
    left, right, out = _instances_of_the_mirrored_copies(_train(False))
    assert left == right and left % 1000 == 0
    assert len(out.pred_instances.labels) == 1
