"""Inference with pictures: images, folders and videos in, annotated
pictures / video and JSON predictions out (what ``tools/demo.py`` runs)."""
import json
import os
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.utils import ProgressBar
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample

from ..visualization import draw_people
from .inference import (ImageInput, inference_personlab, init_personlab,
                        people_of)

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif',
                    '.tiff')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')


def resolve_inputs(path: str) -> Tuple[str, List[str]]:
    """What ``path`` is: ``('video', [path])``, ``('images', [path])`` or
    ``('images', files)`` for a folder (its images, sorted, not recursive).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Unknown file type, or a folder without images.
    """
    if osp.isdir(path):
        files = sorted(
            osp.join(path, name) for name in os.listdir(path)
            if name.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in '
                             f'folder {path}')
        return 'images', files
    if not osp.isfile(path):
        raise FileNotFoundError(f'input not found: {path}')
    lower = path.lower()
    if lower.endswith(VIDEO_EXTENSIONS):
        return 'video', [path]
    if lower.endswith(IMAGE_EXTENSIONS):
        return 'images', [path]
    raise ValueError(f'{path}: not an image ({", ".join(IMAGE_EXTENSIONS)}) '
                     f'or a video ({", ".join(VIDEO_EXTENSIONS)})')


class PersonLabInferencer:
    """A PersonLab model plus the config's visualizer.

    Example::

        inferencer = PersonLabInferencer(
            'configs/personlab/r101_coco.py', 'epoch_N.pth')
        sample = inferencer('demo.jpg')           # PoseDataSample
        picture = inferencer.visualize('demo.jpg', sample)  # RGB array
        inferencer.run_images(['a.jpg', 'b.jpg'], out_dir='vis')
        inferencer.run_video('in.mp4', 'vis/in.mp4')

    Args:
        config (str | Path | Config): Model config.
        checkpoint (str, optional): Checkpoint file.
        device (str, optional): ``'cpu'``, ``'cuda:0'``, ...; the GPU where
            there is one by default.
        cfg_options (dict, optional): Config overrides.
        kpt_thr (float): Minimum keypoint score drawn.
        instance_score_thr (float, optional): Minimum person score drawn;
            the visualizer's own default when None.
        draw_bbox (bool): Draw person boxes.
    """

    def __init__(self,
                 config: Union[str, Path, Config],
                 checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 kpt_thr: float = 0.3,
                 instance_score_thr: Optional[float] = None,
                 draw_bbox: bool = True) -> None:
        self.model = init_personlab(config, checkpoint, device, cfg_options)
        self.kpt_thr = float(kpt_thr)
        self.draw_bbox = bool(draw_bbox)
        self.visualizer = self._build_visualizer(instance_score_thr)

    def _build_visualizer(self, instance_score_thr: Optional[float]):
        """The config's ``visualizer`` (``PersonLabVisualizer`` in this
        package's configs) without storage backends: pictures are written
        here."""
        cfg = dict(
            self.model.cfg.get('visualizer', None)
            or dict(type='PersonLabVisualizer'))
        cfg.update(
            name=f'personlab_inferencer_{id(self)}',
            vis_backends=None,
            save_dir=None)
        if instance_score_thr is not None:
            cfg['instance_score_thr'] = instance_score_thr
        cfg.setdefault('_scope_', 'mmpose')
        visualizer = VISUALIZERS.build(cfg)
        visualizer.set_dataset_meta(self.model.dataset_meta)
        return visualizer

    def __call__(self, images: Union[ImageInput, Sequence[ImageInput]],
                 batch_size: int = 1):
        """:func:`~personlab_mm.apis.inference_personlab` with this model."""
        return inference_personlab(self.model, images, batch_size)

    def visualize(self,
                  image: ImageInput,
                  sample: PoseDataSample,
                  out_file: Optional[str] = None) -> np.ndarray:
        """Draw one prediction (masks, skeletons, boxes) over its image.

        Args:
            image (str | Path | np.ndarray): The image file or the BGR array
                that was predicted.
            sample (PoseDataSample): Its prediction.
            out_file (str, optional): Also write the picture here.

        Returns:
            np.ndarray: (h, w, 3) uint8 RGB.
        """
        if isinstance(image, np.ndarray):
            rgb = mmcv.bgr2rgb(image)
        else:
            rgb = mmcv.imread(str(image), channel_order='rgb')
            if rgb is None:
                raise ValueError(f'cannot read image {image}')
        return draw_people(self.visualizer, rgb, sample, self.kpt_thr,
                           self.draw_bbox, out_file)

    def run_images(self,
                   paths: Sequence[str],
                   out_dir: str,
                   batch_size: int = 1,
                   pred_out_dir: Optional[str] = None,
                   progress: bool = True) -> List[str]:
        """Predict and draw every image; one picture per input, same file
        name, in ``out_dir``; optionally one JSON of people per image
        (see :func:`~personlab_mm.apis.people_of`) in ``pred_out_dir``.

        Returns:
            List[str]: The pictures written.
        """
        os.makedirs(out_dir, exist_ok=True)
        if pred_out_dir:
            os.makedirs(pred_out_dir, exist_ok=True)
        bar = ProgressBar(len(paths)) if progress else None
        written = []
        for start in range(0, len(paths), batch_size):
            chunk = list(paths[start:start + batch_size])
            for path, sample in zip(chunk, self(chunk, batch_size)):
                name = osp.basename(path)
                out_file = osp.join(out_dir, name)
                self.visualize(path, sample, out_file)
                written.append(out_file)
                if pred_out_dir:
                    self._dump(sample, osp.join(
                        pred_out_dir, osp.splitext(name)[0] + '.json'))
                if bar is not None:
                    bar.update()
        if bar is not None:
            print()
        return written

    def run_video(self,
                  path: str,
                  out_file: str,
                  pred_out_file: Optional[str] = None,
                  progress: bool = True) -> str:
        """Predict and draw every frame of a video into a new video (same
        size and frame rate, MPEG-4); optionally the people of every frame
        into one JSON file.

        Returns:
            str: ``out_file``.
        """
        reader = cv2.VideoCapture(path)
        if not reader.isOpened():
            raise ValueError(f'cannot open video {path}')
        fps = reader.get(cv2.CAP_PROP_FPS) or 25.
        count = int(reader.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        out_dir = osp.dirname(osp.abspath(out_file))
        os.makedirs(out_dir, exist_ok=True)
        writer = None
        frames = []
        bar = ProgressBar(max(count, 0)) if progress else None
        try:
            while True:
                ok, frame = reader.read()
                if not ok:
                    break
                sample = self(frame)
                picture = self.visualize(frame, sample)
                if writer is None:
                    h, w = picture.shape[:2]
                    writer = cv2.VideoWriter(
                        out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                        (w, h))
                    if not writer.isOpened():
                        raise ValueError(f'cannot write video {out_file}')
                writer.write(mmcv.rgb2bgr(picture))
                if pred_out_file:
                    frames.append(
                        dict(frame=len(frames), people=people_of(sample)))
                if bar is not None:
                    bar.update()
        finally:
            reader.release()
            if writer is not None:
                writer.release()
        if bar is not None:
            print()
        if writer is None:
            raise ValueError(f'video {path} has no readable frame')
        if pred_out_file:
            os.makedirs(osp.dirname(osp.abspath(pred_out_file)),
                        exist_ok=True)
            with open(pred_out_file, 'w') as f:
                json.dump(frames, f)
        return out_file

    @staticmethod
    def _dump(sample: PoseDataSample, path: str) -> None:
        with open(path, 'w') as f:
            json.dump(dict(people=people_of(sample)), f)
