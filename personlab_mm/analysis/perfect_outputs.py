"""Perfect PersonLab (and PosePlusSeg) outputs from ground truth: the
training targets at a test input's size and stride, as the maps a perfect
network would give."""
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..codecs import PersonLabCodec
from ..datasets.transforms import GeneratePersonLabTargets
from ..decoders import personlab_map_specs, poseplusseg_map_specs
from ..structures import DenseMaps, KeypointSet


def encoded_to_maps(encoded: Dict[str, np.ndarray], keypoints: KeypointSet,
                    stride: float, device: str = 'cpu') -> DenseMaps:
    """Encoded targets of one image (:meth:`PersonLabCodec.encode`, or
    :class:`~personlab_mm.codecs.PosePlusSegCodec`'s with its body heat map
    and mask offsets) as the "perfect network output": a batch of one,
    probabilities 0/1 (coverage for the segmentation, the BHM's own values)
    and exact offsets."""
    K, E = keypoints.num_keypoints, keypoints.num_edges

    def t(key, channels=None):
        arr = torch.as_tensor(encoded[key], device=device)
        if channels is not None:
            arr = arr.reshape(channels, 2, *arr.shape[-2:])
        return arr[None]

    maps = dict(heatmaps=t('heatmaps'), short_offsets=t('short_offsets', K),
                mid_offsets=t('mid_offsets', E),
                long_offsets=t('long_offsets', K),
                segmentation=t('segmentation'))
    if 'body_heatmap' not in encoded:
        return DenseMaps(maps, personlab_map_specs(keypoints), stride)
    maps.update(body_heatmap=t('body_heatmap'),
                mask_offsets=t('mask_offsets', 1))
    return DenseMaps(maps, poseplusseg_map_specs(keypoints), stride)


def perfect_maps(codec: PersonLabCodec,
                 metainfo: dict,
                 image_to_input: np.ndarray,
                 input_hw: Tuple[int, int],
                 output_stride: int,
                 device: str = 'cpu',
                 target_cfg: Optional[dict] = None) -> DenseMaps:
    """Encode an image's ground truth into the maps a perfect network would
    output for its test input.

    Args:
        codec (PersonLabCodec): The model's codec (keypoint set, tree,
            radius, ``min_keypoints``, a subclass's own settings); its
            input size and stride are replaced by the test input's.
        metainfo (dict): Test sample metainfo with ``raw_ann_info`` (COCO
            annotations of the image), ``ori_shape`` and ``img_path``.
        image_to_input (np.ndarray): (2, 3) affine image -> input pixels.
        input_hw (Tuple[int, int]): Input tensor size ``(h, w)``.
        output_stride (int): Stride of the maps.
        device (str): Device of the returned tensors.
        target_cfg (dict, optional): ``GeneratePersonLabTargets`` options
            (``supersample``, ``impute_keypoints``), as in training.

    Returns:
        DenseMaps: the maps of the image (a batch of one).
    """
    h, w = int(input_hw[0]), int(input_hw[1])
    K = codec.num_keypoints
    anns = metainfo.get('raw_ann_info') or []
    if isinstance(anns, dict):
        anns = [anns]
    kpts = np.zeros((len(anns), K, 3), dtype=np.float64)
    for i, ann in enumerate(anns):
        values = np.asarray(ann.get('keypoints') or np.zeros(3 * K),
                            dtype=np.float64)
        if values.size != 3 * K:
            raise ValueError(
                f"{metainfo.get('img_path')}: annotation id {ann.get('id')} "
                f'has {values.size} keypoint values, expected {3 * K}')
        kpts[i] = values.reshape(K, 3)
    A = np.asarray(image_to_input, dtype=np.float64)
    xy = kpts[..., :2] @ A[:, :2].T + A[:, 2]
    encoder = codec.at_geometry((w, h), output_stride)
    transform = GeneratePersonLabTargets(encoder, **(target_cfg or {}))
    results = dict(
        keypoints=xy.astype(np.float32),
        keypoints_visible=(kpts[..., 2] > 0).astype(np.float32),
        raw_ann_info=anns,
        ori_shape=metainfo['ori_shape'],
        input_size=(w, h),
        warp_mat=A,
        img_path=metainfo.get('img_path'))
    return encoded_to_maps(transform(results), codec.keypoints,
                           float(output_stride), device)
