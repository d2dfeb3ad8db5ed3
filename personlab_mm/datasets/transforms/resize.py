"""Test-time resize to a longest side, corner-aligned to the output grid."""
import math
from typing import Dict, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS


def longest_side_geometry(image_wh: Tuple[int, int], longest_side: int,
                          size_divisor: int) -> Tuple[float, Tuple[int, int]]:
    """Scale and input size for :class:`PersonLabResize`.

    Returns:
        tuple: ``ratio`` (input pixels per image pixel, corner-aligned:
        image pixel ``u`` goes to input pixel ``u * ratio``) and the input
        size ``(w, h)``, each ``size_divisor * n + 1``.
    """
    w, h = image_wh
    ratio = (longest_side - 1) / max(max(w, h) - 1, 1)
    size = tuple(
        int(math.ceil((n - 1) * ratio / size_divisor - 1e-6)) * size_divisor
        + 1 for n in (w, h))
    return ratio, size


@TRANSFORMS.register_module()
class PersonLabResize(BaseTransform):
    """Resize an image so its longest side is ``longest_side`` pixels.

    The paper evaluates at a longest side of 1401 (and 601/1201/1801/2401
    for multi-scale). The warp is corner-aligned (image pixel ``u`` lands on
    input pixel ``u * ratio``, so the first and last pixels of the longest
    side land on 0 and ``longest_side - 1``) and the input is padded on the
    right/bottom to ``size_divisor * n + 1`` pixels, which puts the output
    grid of any stride dividing ``size_divisor`` exactly on the image
    corners. ``input_center`` / ``input_scale`` follow MMPose's convention,
    so ``image = input / input_size * input_scale + input_center -
    input_scale / 2`` maps predictions back.

    Required Keys:

        - img
        - img_shape

    Modified Keys:

        - img
        - img_shape

    Added Keys:

        - input_size
        - input_center
        - input_scale
        - warp_mat

    Args:
        longest_side (int): Target longest side. Defaults to 1401.
        size_divisor (int): Input sides are ``size_divisor * n + 1``.
            Defaults to 8 (the test output stride).
        pad_val (int | tuple): Padding value. Defaults to 0.
    """

    def __init__(self,
                 longest_side: int = 1401,
                 size_divisor: int = 8,
                 pad_val=0) -> None:
        super().__init__()
        if longest_side < 2 or size_divisor < 1:
            raise ValueError('longest_side must be >= 2 and size_divisor >= 1')
        self.longest_side = longest_side
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        h, w = img.shape[:2]
        ratio, (in_w, in_h) = longest_side_geometry((w, h), self.longest_side,
                                                    self.size_divisor)
        warp_mat = np.array([[ratio, 0., 0.], [0., ratio, 0.]],
                            dtype=np.float32)
        pad = self.pad_val if isinstance(self.pad_val, (tuple, list)) else \
            (self.pad_val, ) * 3
        results['img'] = cv2.warpAffine(
            img, warp_mat, (in_w, in_h), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=pad)
        results['img_shape'] = (in_h, in_w)
        results['input_size'] = (in_w, in_h)
        scale = np.array([in_w / ratio, in_h / ratio], dtype=np.float32)
        results['input_scale'] = scale
        results['input_center'] = scale / 2.
        results['warp_mat'] = warp_mat
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(longest_side={self.longest_side}'
                f', size_divisor={self.size_divisor})')
