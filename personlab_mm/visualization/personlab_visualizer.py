"""MMPose's pose visualizer, extended with PersonLab's instance masks."""
import colorsys
from typing import Optional

import cv2
import numpy as np
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer


def instance_palette(num: int) -> np.ndarray:
    """``num`` well separated RGB colours (golden-ratio hue steps), the same
    for every image so that person ``i`` always gets colour ``i``.

    Returns:
        np.ndarray: (num, 3) uint8 RGB.
    """
    hues = (np.arange(num) * 0.618033988749895) % 1.0
    rgb = np.array([colorsys.hsv_to_rgb(h, 0.75, 1.0) for h in hues],
                   dtype=np.float64).reshape(-1, 3)
    return (rgb * 255).round().astype(np.uint8)


def overlay_masks(image: np.ndarray,
                  masks: np.ndarray,
                  colors: np.ndarray,
                  alpha: float = 0.5,
                  contour_width: int = 2) -> np.ndarray:
    """Blend instance masks over an image and outline them.

    Masks are drawn in the given order, so later ones cover earlier ones
    where they overlap (PersonLab's assignment is not exclusive).

    Args:
        image (np.ndarray): (h, w, 3) uint8 RGB.
        masks (np.ndarray): (N, h, w) bool.
        colors (np.ndarray): (N, 3) uint8 RGB, one per mask.
        alpha (float): Opacity of the mask fill.
        contour_width (int): Outline thickness in pixels; 0 for none.

    Returns:
        np.ndarray: (h, w, 3) uint8 RGB, a new array.
    """
    if masks.shape[1:] != image.shape[:2]:
        raise ValueError(f'masks of shape {masks.shape[1:]} do not match '
                         f'the image of shape {image.shape[:2]}')
    out = image.astype(np.float32)
    for mask, color in zip(masks, colors.astype(np.float32)):
        out[mask] = out[mask] * (1. - alpha) + color * alpha
    out = out.round().astype(np.uint8)
    if contour_width > 0:
        for mask, color in zip(masks, colors):
            contours, _ = cv2.findContours(
                mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, tuple(int(c) for c in color),
                             contour_width)
    return out


@VISUALIZERS.register_module()
class PersonLabVisualizer(PoseLocalVisualizer):
    """Draws PersonLab predictions: a coloured, outlined instance mask per
    person under MMPose's skeletons, keypoints and boxes.

    It is a drop-in replacement for ``PoseLocalVisualizer`` (same arguments
    and ``add_datasample``), so MMPose's ``PoseVisualizationHook``
    (``mim test ... --show-dir``), ``tools/demo.py`` and
    ``personlab_mm.apis`` all produce the same pictures. Set it in a
    config with ``visualizer = dict(type='PersonLabVisualizer', ...)``.

    People scoring below ``instance_score_thr`` (PersonLab keeps up to 20
    candidates per image, many of them low-scoring duplicates) are not
    drawn; each drawn person keeps one colour for its mask and box.

    Args:
        name (str): Instance name (MMEngine's ``ManagerMixin``).
        instance_score_thr (float): Minimum ``pred_instances.scores`` of a
            drawn person. Defaults to 0.2.
        mask_alpha (float): Opacity of the mask fill. Defaults to 0.5.
        contour_width (int): Mask outline thickness (pixels). Defaults
            to 2.
        max_people (int): Draw at most this many (highest-scoring)
            people. Defaults to 20.
        **kwargs: ``PoseLocalVisualizer`` arguments (``radius``,
            ``line_width``, ``vis_backends``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 instance_score_thr: float = 0.2,
                 mask_alpha: float = 0.5,
                 contour_width: int = 2,
                 max_people: int = 20,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if not 0. <= mask_alpha <= 1.:
            raise ValueError(f'mask_alpha must be in [0, 1], got {mask_alpha}')
        self.instance_score_thr = float(instance_score_thr)
        self.mask_alpha = float(mask_alpha)
        self.contour_width = int(contour_width)
        self.max_people = int(max_people)

    def select_people(self, instances: InstanceData) -> InstanceData:
        """The people to draw: score >= ``instance_score_thr``, best first,
        at most ``max_people``; all of them when there are no scores."""
        if 'scores' not in instances or len(instances) == 0:
            return instances
        scores = np.asarray(instances.scores, dtype=np.float64).reshape(-1)
        order = np.argsort(-scores, kind='stable')
        order = order[scores[order] >= self.instance_score_thr]
        return instances[order[:self.max_people].astype(np.int64)]

    def _draw_instances_kpts(self,
                             image: np.ndarray,
                             instances: InstanceData,
                             kpt_thr: float = 0.3,
                             show_kpt_idx: bool = False,
                             skeleton_style: str = 'mmpose') -> np.ndarray:
        """Masks first (when the instances have them), then MMPose's
        keypoints and skeletons on top."""
        if 'masks' in instances and len(instances):
            masks = np.asarray(instances.masks, dtype=bool)
            colors = instance_palette(len(masks))
            # lowest score first so the best person is drawn on top
            image = overlay_masks(image, masks[::-1], colors[::-1],
                                  self.mask_alpha, self.contour_width)
        return super()._draw_instances_kpts(image, instances, kpt_thr,
                                            show_kpt_idx, skeleton_style)

    def _draw_instances_bbox(self, image: np.ndarray,
                             instances: InstanceData) -> np.ndarray:
        """Boxes in each person's mask colour."""
        if 'bboxes' not in instances or len(instances) == 0:
            return super()._draw_instances_bbox(image, instances)
        self.set_image(image)
        colors = instance_palette(len(instances))
        boxes = np.asarray(instances.bboxes, dtype=np.float32)
        # one (1, 4) group per colour, as the OpenCV backend expects
        self.draw_bboxes(
            [box[None] for box in boxes.reshape(-1, 4)],
            edge_colors=[tuple(int(c) for c in col) for col in colors],
            alpha=self.alpha,
            line_widths=self.line_width)
        return self.get_image()

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: PoseDataSample,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       *args,
                       **kwargs) -> Optional[np.ndarray]:
        """``PoseLocalVisualizer.add_datasample`` on the selected people
        (see :meth:`select_people`). ``image`` is RGB, as in MMPose."""
        if draw_pred and 'pred_instances' in data_sample:
            data_sample = data_sample.clone()
            data_sample.pred_instances = self.select_people(
                data_sample.pred_instances)
        return super().add_datasample(name, image, data_sample, draw_gt,
                                      draw_pred, *args, **kwargs)


def draw_people(visualizer: PoseLocalVisualizer,
                image_rgb: np.ndarray,
                data_sample: PoseDataSample,
                kpt_thr: float = 0.3,
                draw_bbox: bool = True,
                out_file: Optional[str] = None) -> np.ndarray:
    """Draw a prediction the way ``mim test --show-dir`` does (prediction
    only, boxes on) and return the RGB picture.

    Args:
        visualizer (PoseLocalVisualizer): Usually a ``PersonLabVisualizer``
            with its dataset meta set.
        image_rgb (np.ndarray): (h, w, 3) uint8 RGB.
        data_sample (PoseDataSample): With ``pred_instances``.
        kpt_thr (float): Minimum keypoint score drawn.
        draw_bbox (bool): Draw boxes.
        out_file (str, optional): Also write the picture here.

    Returns:
        np.ndarray: (h, w, 3) uint8 RGB.
    """
    visualizer.add_datasample(
        'result',
        image_rgb,
        data_sample=data_sample,
        draw_gt=False,
        draw_pred=True,
        draw_bbox=draw_bbox,
        kpt_thr=kpt_thr,
        out_file=out_file)
    return visualizer.get_image()
