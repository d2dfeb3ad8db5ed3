"""Run a PersonLab checkpoint on images: paths, arrays, batches."""
import copy
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.structures import PoseDataSample
from torch import nn

ImageInput = Union[str, Path, np.ndarray]


def default_device() -> str:
    """``'cuda:0'`` where a GPU is visible, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def init_personlab(config: Union[str, Path, Config],
                   checkpoint: Optional[str] = None,
                   device: Optional[str] = None,
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a PersonLab model for inference (MMPose's ``init_model`` in the
    ``mmpose`` scope, with this package's components registered).

    Args:
        config (str | Path | Config): Config file or object, e.g.
            ``configs/personlab/r101_coco.py``.
        checkpoint (str, optional): Checkpoint to load; random weights
            when None (useful for tests only).
        device (str, optional): Defaults to :func:`default_device`.
        cfg_options (dict, optional): Config overrides, e.g.
            ``{'model.test_cfg.flip_test': True}``.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` and
        ``dataset_meta`` set.
    """
    from mmpose.apis import init_model

    import personlab_mm  # noqa: F401  registers components, safe loading
    if isinstance(config, (str, Path)):
        if not osp.isfile(str(config)):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(str(config))
    else:
        config = copy.deepcopy(config)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    # inference never needs ImageNet weights: do not download them
    config.model.backbone.pop('init_cfg', None)
    init_default_scope(config.get('default_scope', 'mmpose'))
    return init_model(config, checkpoint, device=device or default_device(),
                      cfg_options=cfg_options)


def _check_image(image: ImageInput, index: int) -> dict:
    """The pipeline input for one image, or a clear error about it."""
    if isinstance(image, (str, Path)):
        path = str(image)
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {index}: no such file: {path}')
        return dict(img_path=path)
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f'image {index}: expected an (h, w, 3) uint8 BGR array, got '
                f'shape {image.shape} dtype {image.dtype}')
        if min(image.shape[:2]) < 1:
            raise ValueError(f'image {index}: empty array {image.shape}')
        return dict(img=image)
    raise TypeError(f'image {index}: expected a path or a numpy array, got '
                    f'{type(image).__name__}')


def inference_personlab(
    model: nn.Module,
    images: Union[ImageInput, Sequence[ImageInput]],
    batch_size: int = 1,
) -> Union[PoseDataSample, List[PoseDataSample]]:
    """Detect people, their keypoints and masks.

    Images go through the config's test pipeline (resize to the test size)
    and the model's ``test_cfg`` (output stride, flip, multi-scale);
    results are in the original image's pixels.

    Args:
        model (nn.Module): From :func:`init_personlab`.
        images (str | Path | np.ndarray | Sequence): An image file, an
            ``(h, w, 3)`` uint8 BGR array (OpenCV's order, as from
            ``cv2.imread``), or a list of them.
        batch_size (int): Images per forward pass (images of different
            sizes are padded to a common size, as in testing).

    Returns:
        PoseDataSample | List[PoseDataSample]: One per image (a single one
        for a single input). ``pred_instances`` holds, for ``N`` people
        best first: ``keypoints`` (N, K, 2) xy pixels, ``keypoint_scores``
        (N, K), ``scores`` (N, ), ``bboxes`` (N, 4) xyxy and ``masks``
        (N, h, w) bool.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    single = isinstance(images, (str, Path, np.ndarray))
    items = [images] if single else list(images)
    inputs = [_check_image(image, i) for i, image in enumerate(items)]
    pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    results: List[PoseDataSample] = []
    for start in range(0, len(inputs), batch_size):
        data = []
        for i, info in enumerate(inputs[start:start + batch_size], start):
            try:
                data.append(pipeline(dict(info, **meta)))
            except Exception as err:
                name = info.get('img_path', f'array {i}')
                raise RuntimeError(
                    f'image {i} ({name}): {type(err).__name__}: {err}') \
                    from err
        with torch.no_grad():
            results.extend(model.test_step(pseudo_collate(data)))
    return results[0] if single else results


def people_of(sample: PoseDataSample,
              score_thr: float = 0.) -> List[Dict[str, object]]:
    """Plain, JSON-ready people of one prediction.

    Args:
        sample (PoseDataSample): From :func:`inference_personlab`.
        score_thr (float): Drop people scoring lower.

    Returns:
        List[dict]: Best first, each with ``keypoints`` (K x [x, y,
        score]), ``score``, ``bbox`` ([x, y, w, h], COCO style) and
        ``segmentation`` (compressed COCO RLE) when there are masks.
    """
    pred = sample.pred_instances
    scores = np.asarray(pred.scores, dtype=np.float64).reshape(-1)
    keypoints = np.asarray(pred.keypoints, dtype=np.float64)
    kpt_scores = np.asarray(pred.keypoint_scores, dtype=np.float64)
    boxes = np.asarray(pred.bboxes, dtype=np.float64).reshape(-1, 4)
    masks = np.asarray(pred.masks, dtype=bool) if 'masks' in pred else None
    people = []
    for j in np.argsort(-scores, kind='stable'):
        if scores[j] < score_thr:
            break
        x0, y0, x1, y1 = boxes[j]
        person = dict(
            score=float(scores[j]),
            keypoints=np.concatenate([keypoints[j], kpt_scores[j, :, None]],
                                     axis=1).round(2).tolist(),
            bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)])
        if masks is not None:
            rle = mask_utils.encode(np.asfortranarray(masks[j]))
            person['segmentation'] = dict(
                size=[int(s) for s in rle['size']],
                counts=rle['counts'].decode('ascii'))
        people.append(person)
    return people
