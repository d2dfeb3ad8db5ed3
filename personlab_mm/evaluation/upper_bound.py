"""Perfect network outputs from ground truth, for decoding upper bounds and
benchmarks."""
from typing import Optional, Tuple

import numpy as np

from ..codecs import PersonLabCodec
from ..datasets.transforms import GeneratePersonLabTargets
from ..decoding import PersonLabMaps


def perfect_maps(codec: PersonLabCodec,
                 metainfo: dict,
                 image_to_input: np.ndarray,
                 input_hw: Tuple[int, int],
                 output_stride: int,
                 device: str = 'cpu',
                 target_cfg: Optional[dict] = None) -> PersonLabMaps:
    """Encode an image's ground truth into the maps a perfect network would
    output for its test input.

    Args:
        codec (PersonLabCodec): Codec of the model (radius, tree, ...).
        metainfo (dict): Test sample metainfo with ``raw_ann_info`` (COCO
            annotations of the image), ``ori_shape`` and ``img_path``.
        image_to_input (np.ndarray): (2, 3) affine image -> input pixels.
        input_hw (Tuple[int, int]): Input tensor size ``(h, w)``.
        output_stride (int): Stride of the maps.
        device (str): Device of the returned tensors.
        target_cfg (dict, optional): ``GeneratePersonLabTargets`` options
            (``supersample``, ``impute_keypoints``), as in training.

    Returns:
        PersonLabMaps: unbatched maps of the image.
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
    encoder = codec.with_geometry((w, h), output_stride)
    transform = GeneratePersonLabTargets.from_codec(encoder,
                                                    **(target_cfg or {}))
    results = dict(
        keypoints=xy.astype(np.float32),
        keypoints_visible=(kpts[..., 2] > 0).astype(np.float32),
        raw_ann_info=anns,
        ori_shape=metainfo['ori_shape'],
        input_size=(w, h),
        warp_mat=A,
        img_path=metainfo.get('img_path'))
    return encoder.maps_from_encoded(transform(results), device=device)
