"""PosePlusSeg decoding: PersonLab's pose generator, keypoint confidences
raised by the body heat map, exclusive instance masks from the mask
offsets (paper "Pose Generator", "Body Heat Map", "Instance Segmentation
Generator", Eq. 2-4)."""
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ..functional import is_axis_aligned, sample_points
from ..structures import KeypointSet
from .map_specs import POSEPLUSSEG_FIELDS
from .personlab import PersonLabDecoder
from .poseplusseg_masks import (exclusive_person_masks, person_centroids,
                                shared_centroids)


def body_boosted_scores(keypoint_scores: Tensor, body: Tensor,
                        boost: float) -> Tensor:
    r"""Keypoint confidences raised by the body heat map.

    :math:`s' = 1 - (1 - s)(1 - \beta b)`: the keypoint score :math:`s`
    and the body heat map :math:`b` at the keypoint taken as independent
    evidence (a noisy-OR) with :math:`\beta` = ``boost``. A keypoint on a
    body gains confidence, one off every body keeps its score; scores never
    drop and stay in [0, 1].

    Args:
        keypoint_scores (Tensor): (J, K) in [0, 1].
        body (Tensor): (J, K) body heat map at the keypoints, in [0, 1].
        boost (float): :math:`\beta` in [0, 1].

    Returns:
        Tensor: (J, K).
    """
    return 1. - (1. - keypoint_scores) * (1. - boost * body.clamp(0, 1))


class PosePlusSegDecoder(PersonLabDecoder):
    """People, keypoint confidences and exclusive masks from PosePlusSeg's
    maps.

    The pose generator is PersonLab's (:class:`PersonLabDecoder`: one
    priority queue of keypoint detections over all types, greedy joining
    along the kinematic tree, NMS), with all its settings. Then:

    - **Body heat map rescoring**: each keypoint score is raised by the
      body heat map at the keypoint (:func:`body_boosted_scores`; the paper
      says only that the BHM "increases the keypoint confidence score").
      Instance scores stay those of the pose stage (the paper scores
      instances by the pose stage), so with the configs' ``CocoMetric``
      (``score_mode='bbox'``) keypoint AP does not change (measured:
      0.479 with and without on ``pps_r18_synthetic.py``); MMPose's
      ``score_mode='bbox_keypoint'`` would multiply them by the mean
      confident keypoint score.
    - **Instance segmentation generator**: person pixels (``seg_threshold``
      0.5) join the nearest centroid of a decoded person through their
      mask offsets, within ``mask_threshold`` (t = 0.25) times the person's
      scale (:func:`~.poseplusseg_masks.exclusive_person_masks`); a pixel
      belongs to at most one body. A person whose centroid lies within
      ``share_threshold`` times a better person's scale of that person's
      centroid takes the better person's mask
      (:func:`~.poseplusseg_masks.shared_centroids`): a second pose of the
      same body would otherwise split its pixels (not in the paper; without
      it the trained ``pps_r18_synthetic.py`` reaches segm AP 0.004).

    Args:
        keypoints (KeypointSet): Keypoints, tree and OKS sigmas.
        radius (float): Disk radius R in input pixels.
        centroid_index (int, optional): The codec's centroid keypoint; None
            for the mask-mean centroid (both from the codec, not
            ``test_cfg``).
        body_boost (float): :math:`\\beta` of :func:`body_boosted_scores`;
            0 switches the rescoring off. Defaults to 1.
        share_threshold (float): Centroids closer than this times the
            better person's scale belong to one body. Defaults to 0.1
            (chosen on the synthetic val split: 0.05 / 0.1 / 0.25 give
            segm AP 0.122 / 0.147 / 0.135 after ``pps_r18_synthetic.py``'s
            training and 0.729 / 0.616 / 0.401 from perfect outputs, where
            no two poses share a body; 0: only identical centroids).
        **kwargs: :class:`PersonLabDecoder`'s settings (``test_cfg`` keys).
    """

    fields = POSEPLUSSEG_FIELDS
    codec_arguments = ('keypoints', 'radius', 'centroid_index')

    def __init__(self,
                 keypoints: KeypointSet,
                 radius: float,
                 centroid_index: Optional[int] = None,
                 body_boost: float = 1.,
                 share_threshold: float = 0.1,
                 **kwargs) -> None:
        super().__init__(keypoints, radius, **kwargs)
        if share_threshold < 0:
            raise ValueError(
                f'share_threshold must be >= 0, got {share_threshold}')
        if not 0 <= body_boost <= 1:
            raise ValueError(f'body_boost must be in [0, 1], got {body_boost}')
        if centroid_index is not None and not (
                0 <= centroid_index < keypoints.num_keypoints):
            raise ValueError(f'centroid_index {centroid_index} is not one of '
                             f'the {keypoints.num_keypoints} keypoints')
        self.centroid_index = centroid_index
        self.body_boost = float(body_boost)
        self.share_threshold = float(share_threshold)

    def _rescore(self, t: Dict[str, Tensor], people: Dict[str, Tensor],
                 stride: float) -> Dict[str, Tensor]:
        """Keypoint scores raised by the body heat map."""
        kp = people['keypoints']
        if self.body_boost == 0 or kp.shape[0] == 0:
            return people
        xy = torch.nan_to_num(kp.reshape(-1, 2))
        body = sample_points(t['body_heatmap'].to(xy.dtype),
                             xy[:, 0] / stride, xy[:, 1] / stride)
        scores = people['keypoint_scores']
        return dict(
            people,
            keypoint_scores=body_boosted_scores(
                scores, body.view(kp.shape[:2]).to(scores.dtype),
                self.body_boost))

    def _masks(self, t: Dict[str, Tensor], stride: float,
               people: Dict[str, Tensor], image_to_input: np.ndarray,
               image_hw: Tuple[int, int], fixed: bool) -> Tensor:
        """(J, h, w) exclusive masks (see the class docstring)."""
        offsets = t['mask_offsets'][0]  # (2, H, W)
        J = people['keypoints'].shape[0]
        if J == 0:
            return torch.zeros((0, *image_hw), dtype=torch.bool,
                               device=offsets.device)
        kp, probs, scales, valid = self._padded_people(people, fixed)
        centroids = person_centroids(kp, probs, t['segmentation'], offsets,
                                     stride, self.centroid_index,
                                     self.seg_threshold)
        owner = shared_centroids(centroids, scales, self.share_threshold,
                                 valid)
        own = owner == torch.arange(len(owner), device=owner.device)
        A = torch.as_tensor(np.asarray(image_to_input, dtype=np.float32),
                            device=offsets.device)
        masks = self._stage(exclusive_person_masks, fixed)(
            t['segmentation'], offsets, stride, centroids, scales,
            own if valid is None else own & valid, A,
            tuple(int(v) for v in image_hw), self.seg_threshold,
            self.mask_threshold, self.mask_mode,
            is_axis_aligned(image_to_input), fixed)
        return masks[owner[:J]]
