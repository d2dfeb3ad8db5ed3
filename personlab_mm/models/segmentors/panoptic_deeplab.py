"""The Panoptic-DeepLab segmentor: an MMDetection detector whose results
are panoptic, semantic and instance segmentation."""
from contextlib import nullcontext
from typing import Dict, Optional, Tuple

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

from ..utils.atrous import OutputStrideSwitch, resnet_output_stride
from ..utils.tta import fuse_scaled_inputs
from .base import BottomUpPanopticSegmentor


@MODELS.register_module()
class PanopticDeepLab(BottomUpPanopticSegmentor):
    """Backbone (an atrous ResNet) + :class:`~personlab_mm.models.heads.
    PanopticDeepLabHead`; post-processing in the head's decoder.

    ``predict`` fills the results of
    :class:`~personlab_mm.models.segmentors.base.BottomUpPanopticSegmentor`.

    Args:
        backbone (dict): Backbone returning the features the head takes,
            shallowest first (ResNet ``out_indices=(0, 1, 3)``: strides 4,
            8 and the output stride).
        head (dict): :class:`~personlab_mm.models.heads.
            PanopticDeepLabHead` config.
        test_cfg (dict, optional): ``output_stride``: run the backbone at
            this output stride at test time (8 or 16; the ASPP rates scale
            with it); ``scales`` (input scales, default ``(1.0, )``; the
            paper's multi-scale test: ``(0.5, 0.75, 1.0, 1.25, 1.5)`` on
            COCO) and ``flip`` (add flipped inputs): the maps of every input
            are brought back to the input's grid and averaged (logits,
            centre heatmaps and offsets, x negated under the flip) before
            one post-processing. Post-processing settings go in
            ``head.test_cfg``.
        train_cfg (dict, optional): Unused (kept for MMDetection's
            interface).
        data_preprocessor (dict, optional): ``DetDataPreprocessor``.
        init_cfg (dict, optional): Initialisation.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 test_cfg: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        self.test_cfg = dict(test_cfg or {})
        unknown = set(self.test_cfg) - {'output_stride', 'scales', 'flip'}
        if unknown:
            raise ValueError(f'PanopticDeepLab test_cfg: unknown keys '
                             f'{sorted(unknown)} (output_stride, scales, '
                             'flip; post-processing settings go in '
                             'head.test_cfg)')
        self.train_cfg = train_cfg
        self._stride_switch = None
        test_stride = self.test_cfg.get('output_stride')
        if test_stride is not None:
            train_stride = resnet_output_stride(self.backbone)
            if test_stride != train_stride:
                if train_stride % test_stride:
                    raise ValueError(f'test output_stride {test_stride} '
                                     f'must divide the training output '
                                     f'stride {train_stride}')
                self._stride_switch = (
                    OutputStrideSwitch(self.backbone, train_stride,
                                       test_stride),
                    train_stride // test_stride)

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) -> backbone features, shallowest first."""
        return tuple(self.backbone(batch_inputs))

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_semantic``, ``loss_centre``, ``loss_offset``."""
        return self.head.loss(self.extract_feat(batch_inputs),
                              batch_data_samples)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Panoptic, semantic and instance results in the data samples
        (the backbone at ``test_cfg.output_stride``)."""
        switch = self._stride_switch
        if switch is not None:
            self.head.set_aspp_rate_multiplier(switch[1])
        context = switch[0].active() if switch is not None else nullcontext()
        try:
            with context:
                maps = fuse_scaled_inputs(
                    lambda x: self.head.maps(self.extract_feat(x)),
                    batch_inputs, self.test_cfg.get('scales', (1., )),
                    self.test_cfg.get('flip', False), self.head.stride)
        finally:
            if switch is not None:
                self.head.set_aspp_rate_multiplier(1)
        results = self.head.decode(maps, batch_data_samples, rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: SampleList = None) -> Tuple[Tensor, ...]:
        """Raw head outputs (semantic logits, centre, offsets)."""
        return self.head.forward(self.extract_feat(batch_inputs))
