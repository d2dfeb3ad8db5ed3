"""The PanoNet segmentor (Chen, Wang, Hebert 2020): two branches of the
same architecture, a semantic one on the image and an instance one on the
image plus normalised coordinate channels, and class-wise mean-shift of the
instance embeddings."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.logging import print_log
from torch import Tensor

from .base import BottomUpPanopticSegmentor

#: Input channels the coordinates add (x, y).
COORDINATE_CHANNELS = 2


def coordinate_channels(batch_inputs: Tensor,
                        image_hws: Optional[Sequence[Tuple[int, int]]] = None
                        ) -> Tensor:
    """Normalised x and y of every input pixel (CoordConv, Liu et al.).

    Args:
        batch_inputs (Tensor): (B, C, H, W) network input (padded).
        image_hws (Sequence[tuple], optional): ``(h, w)`` of each image
            inside the padded input (MMDetection's ``img_shape``): its
            pixels span [-1, 1] on both axes and padding continues the ramp
            beyond 1. None: the padded input spans [-1, 1].

    Returns:
        Tensor: (B, 2, H, W) ``(x, y)`` channels, dtype of the input.
    """
    B, _, H, W = batch_inputs.shape
    device, dtype = batch_inputs.device, batch_inputs.dtype
    if image_hws is None:
        image_hws = [(H, W)] * B
    extents = torch.tensor([[max(h - 1, 1), max(w - 1, 1)]
                            for h, w in image_hws],
                           dtype=torch.float32, device=device)  # (B, 2)
    ys = torch.arange(H, dtype=torch.float32, device=device)
    xs = torch.arange(W, dtype=torch.float32, device=device)
    x = 2. * xs[None] / extents[:, 1:] - 1.  # (B, W)
    y = 2. * ys[None] / extents[:, :1] - 1.  # (B, H)
    return torch.stack([
        x[:, None, :].expand(B, H, W), y[:, :, None].expand(B, H, W)
    ], dim=1).to(dtype)


def extend_coordinate_inputs(module, state_dict: dict, prefix: str, *args,
                             **kwargs) -> None:
    """Load-state-dict pre-hook of the instance backbone: 4-D weights with
    two input channels fewer than the module's (the input layers of a
    3-channel checkpoint: stage 1, or semantic-pretrained weights) are
    extended with zero weights for the coordinate channels, in place.

    Args:
        module (nn.Module): The instance backbone.
        state_dict (dict): Being loaded (keys with ``prefix``).
        prefix (str): The module's key prefix.
    """
    for name, param in module.state_dict().items():
        key = prefix + name
        loaded = state_dict.get(key)
        if (loaded is None or loaded.dim() != 4 or param.dim() != 4
                or loaded.shape[1] + COORDINATE_CHANNELS != param.shape[1]
                or loaded.shape[0] != param.shape[0]
                or loaded.shape[2:] != param.shape[2:]):
            continue
        extra = loaded.new_zeros(loaded.shape[0], COORDINATE_CHANNELS,
                                 *loaded.shape[2:])
        state_dict[key] = torch.cat([loaded, extra], dim=1)
        print_log(f'{key}: {tuple(loaded.shape)} -> '
                  f'{tuple(state_dict[key].shape)} (zero weights for the '
                  'coordinate channels)', logger='current')


@MODELS.register_module()
class PanoNet(BottomUpPanopticSegmentor):
    """Semantic branch + instance branch + :class:`~personlab_mm.models.
    heads.PanoNetHead`; post-processing (class-wise mean-shift) in the
    head's decoder. ``predict`` fills the results of
    :class:`~personlab_mm.models.segmentors.base.BottomUpPanopticSegmentor`.

    The paper's branches are two independent ICNets (MMSegmentation's
    ``mmseg.ICNet`` backbone + ``mmseg.ICNeck``, features at strides 16, 8
    and 8); any backbone (+ neck) yielding one feature per cascade scale
    works (e.g. a ResNet + FPN at strides 4, 8, 16).

    Two-stage training (paper Sec. III-C): stage 1 trains with
    ``coordinates=False`` (3-channel instance branch); stage 2 sets
    ``coordinates=True`` with a 5-channel instance branch and loads the
    stage-1 checkpoint (``load_from``): instance-branch conv weights of the
    checkpoint that have two input channels fewer than the model's (the
    input layers) are extended with zero weights for the coordinate
    channels (:func:`extend_coordinate_inputs`, also when the branch is
    initialised from 3-channel semantic weights), so stage 2 starts from
    exactly stage 1's function.

    Args:
        semantic_backbone (dict): Semantic branch backbone (3 channels).
        instance_backbone (dict): Instance branch backbone: 3 input
            channels, or 5 with ``coordinates`` (RGB + x + y).
        head (dict): :class:`~personlab_mm.models.heads.PanoNetHead`.
        semantic_neck (dict, optional): Semantic branch neck.
        instance_neck (dict, optional): Instance branch neck.
        coordinates (bool): Append the normalised x, y channels
            (:func:`coordinate_channels`) to the instance branch's input.
            Defaults to True.
        test_cfg (dict, optional): Unused (post-processing settings go in
            ``head.test_cfg``); must be empty.
        train_cfg (dict, optional): Unused.
        data_preprocessor (dict, optional): ``DetDataPreprocessor``.
        init_cfg (dict, optional): Initialisation.
    """

    def __init__(self,
                 semantic_backbone: dict,
                 instance_backbone: dict,
                 head: dict,
                 semantic_neck: Optional[dict] = None,
                 instance_neck: Optional[dict] = None,
                 coordinates: bool = True,
                 test_cfg: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if test_cfg:
            raise ValueError(f'PanoNet test_cfg: unknown keys '
                             f'{sorted(test_cfg)} (post-processing settings '
                             'go in head.test_cfg)')
        self.semantic_backbone = MODELS.build(semantic_backbone)
        self.instance_backbone = MODELS.build(instance_backbone)
        self.semantic_neck = MODELS.build(semantic_neck) \
            if semantic_neck else None
        self.instance_neck = MODELS.build(instance_neck) \
            if instance_neck else None
        self.head = MODELS.build(head)
        self.coordinates = coordinates
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.instance_backbone._register_load_state_dict_pre_hook(
            extend_coordinate_inputs, with_module=True)

    # ------------------------------------------------------------ network
    @staticmethod
    def _branch(backbone, neck, x: Tensor) -> Tuple[Tensor, ...]:
        feats = backbone(x)
        return tuple(neck(feats) if neck is not None else feats)

    def instance_inputs(self, batch_inputs: Tensor,
                        batch_data_samples: Optional[SampleList] = None
                        ) -> Tensor:
        """The instance branch's input: the image, plus the coordinate
        channels (normalised over each image's ``img_shape`` when the data
        samples are given) with ``coordinates``."""
        if not self.coordinates:
            return batch_inputs
        hws = None
        if batch_data_samples:
            hws = [tuple(s.metainfo['img_shape'][:2])
                   for s in batch_data_samples]
        return torch.cat(
            [batch_inputs, coordinate_channels(batch_inputs, hws)], dim=1)

    def extract_feat(self,
                     batch_inputs: Tensor,
                     batch_data_samples: Optional[SampleList] = None
                     ) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """(B, 3, H, W) -> (semantic features, instance features), one per
        cascade scale each."""
        semantic = self._branch(self.semantic_backbone, self.semantic_neck,
                                batch_inputs)
        instance = self._branch(
            self.instance_backbone, self.instance_neck,
            self.instance_inputs(batch_inputs, batch_data_samples))
        return semantic, instance

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_semantic`` and ``loss_embedding``."""
        semantic, instance = self.extract_feat(batch_inputs,
                                               batch_data_samples)
        return self.head.loss(semantic, instance, batch_data_samples)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Panoptic, semantic and instance results in the data samples."""
        semantic, instance = self.extract_feat(batch_inputs,
                                               batch_data_samples)
        results = self.head.predict(semantic, instance, batch_data_samples,
                                    rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: SampleList = None) -> Tuple:
        """Raw head outputs (per-scale logits and embeddings)."""
        return self.head.forward(
            *self.extract_feat(batch_inputs, batch_data_samples))
