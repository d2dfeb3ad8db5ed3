"""PersonLabVisualizer (masks + MMPose skeletons), and tools/demo.py on
images, a folder, a video and the real COCO sample."""
import glob
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample
from personlab_testing import REPO_ROOT

from personlab_mm.visualization import (PersonLabVisualizer, instance_palette,
                                        overlay_masks)

ROOT = REPO_ROOT
CONFIG = osp.join(ROOT, 'configs', 'personlab', 'r18_synthetic.py')


def _visualizer(name, **kwargs):
    return VISUALIZERS.build(
        dict(type='PersonLabVisualizer', name=name, **kwargs))


def _prediction(h=40, w=60):
    """Two people: a confident one (left block) and a weak one (right)."""
    masks = np.zeros((2, h, w), dtype=bool)
    masks[0, 5:30, 5:20] = True
    masks[1, 5:30, 35:55] = True
    pred = InstanceData()
    pred.keypoints = np.zeros((2, 17, 2), np.float32)
    pred.keypoint_scores = np.zeros((2, 17), np.float32)  # none drawn
    pred.keypoints_visible = pred.keypoint_scores
    pred.bboxes = np.array([[5, 5, 20, 30], [35, 5, 55, 30]], np.float32)
    pred.scores = np.array([0.9, 0.05], np.float32)
    pred.masks = masks
    sample = PoseDataSample()
    sample.pred_instances = pred
    return sample


def test_registered_and_built_from_config():
    vis = _visualizer('vis_registry', instance_score_thr=0.3)
    assert isinstance(vis, PersonLabVisualizer)
    assert vis.instance_score_thr == 0.3
    with pytest.raises(ValueError, match='mask_alpha'):
        PersonLabVisualizer(name='vis_bad_alpha', mask_alpha=2.)


def test_overlay_masks_colours_only_the_masks():
    image = np.full((20, 30, 3), 100, np.uint8)
    masks = np.zeros((1, 20, 30), dtype=bool)
    masks[0, 5:15, 5:15] = True
    color = np.array([[255, 0, 0]], np.uint8)
    out = overlay_masks(image, masks, color, alpha=0.5, contour_width=0)
    assert np.all(out[~masks[0]] == 100)
    np.testing.assert_array_equal(out[10, 10], [178, 50, 50])
    outlined = overlay_masks(image, masks, color, alpha=0., contour_width=1)
    assert np.all(outlined[5, 5:15] == [255, 0, 0])  # the outline
    assert np.all(outlined[10, 10] == 100)  # inside, no fill
    with pytest.raises(ValueError, match='do not match'):
        overlay_masks(image, masks[:, :10], color)
    palette = instance_palette(20)
    assert palette.shape == (20, 3) and len({tuple(c) for c in palette}) == 20


def test_draws_masks_of_confident_people_only():
    sample = _prediction()
    image = np.full((40, 60, 3), 128, np.uint8)
    vis = _visualizer('vis_draw', instance_score_thr=0.2, contour_width=0)
    vis.set_dataset_meta(dict())
    drawn = vis.add_datasample('x', image, sample, draw_gt=False,
                               draw_bbox=False, kpt_thr=0.3)
    assert drawn.shape == image.shape
    assert np.all(drawn[15, 10] != 128), 'confident person not drawn'
    assert np.all(drawn[15, 45] == 128), 'weak person drawn'
    assert np.all(drawn[35, 30] == 128), 'background changed'
    # the sample itself is untouched
    assert len(sample.pred_instances) == 2
    kept = vis.select_people(sample.pred_instances)
    assert len(kept) == 1 and kept.scores[0] == pytest.approx(0.9)
    vis.instance_score_thr = 1.1
    assert len(vis.select_people(sample.pred_instances)) == 0


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory):
    """Weights of the synthetic config's model (random: the tools must run
    end to end whatever the network says)."""
    from personlab_mm.apis import init_personlab
    torch.manual_seed(0)
    model = init_personlab(CONFIG, None, device='cpu')
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def _demo(args):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import demo
    finally:
        sys.path.pop(0)
    return demo.main(args)


def test_demo_tool_folder_and_single_image(random_checkpoint,
                                           synthetic_root, tmp_path):
    folder = osp.join(synthetic_root, 'images', 'val')
    inputs = sorted(glob.glob(osp.join(folder, '*.jpg')))
    out_dir = tmp_path / 'vis'
    written = _demo([
        CONFIG, random_checkpoint, folder, '--out-dir',
        str(out_dir), '--pred-out-dir',
        str(tmp_path / 'preds'), '--device', 'cpu', '--batch-size', '2'
    ])
    assert sorted(osp.basename(p) for p in written) == sorted(
        osp.basename(p) for p in inputs)
    for src, dst in zip(inputs, sorted(written)):
        assert cv2.imread(dst).shape == cv2.imread(src).shape
    assert len(glob.glob(str(tmp_path / 'preds' / '*.json'))) == len(inputs)
    one = _demo([CONFIG, random_checkpoint, inputs[0], '--out-dir',
                 str(tmp_path / 'one'), '--device', 'cpu'])
    assert len(one) == 1 and osp.isfile(one[0])


def test_demo_tool_video(random_checkpoint, synthetic_root, tmp_path):
    frames = [
        cv2.resize(cv2.imread(p), (160, 128)) for p in sorted(
            glob.glob(osp.join(synthetic_root, 'images', 'val', '*.jpg')))
    ][:3]
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5.,
                             (160, 128))
    for frame in frames:
        writer.write(frame)
    writer.release()
    written = _demo([CONFIG, random_checkpoint, video, '--out-dir',
                     str(tmp_path / 'out'), '--device', 'cpu',
                     '--pred-out-dir', str(tmp_path / 'preds')])
    assert written == [str(tmp_path / 'out' / 'clip.mp4')]
    reader = cv2.VideoCapture(written[0])
    count = 0
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        assert frame.shape == (128, 160, 3)
        count += 1
    reader.release()
    assert count == len(frames)
    assert osp.isfile(tmp_path / 'preds' / 'clip.json')


def test_demo_tool_rejects_unknown_inputs(random_checkpoint, tmp_path):
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(ValueError, match='notes.txt'):
        _demo([CONFIG, random_checkpoint, str(tmp_path / 'notes.txt')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no images'):
        _demo([CONFIG, random_checkpoint, str(tmp_path / 'empty')])


def test_demo_tool_on_the_coco_sample(random_checkpoint, coco_sample_dir,
                                      tmp_path):
    images = osp.join(coco_sample_dir, 'images')
    written = _demo([CONFIG, random_checkpoint, images, '--out-dir',
                     str(tmp_path / 'coco'), '--device', 'cpu'])
    names = sorted(n for n in os.listdir(images)
                   if n.lower().endswith('.jpg'))
    assert sorted(osp.basename(p) for p in written) == names
