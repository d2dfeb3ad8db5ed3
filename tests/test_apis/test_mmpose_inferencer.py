"""MMPose's own inference entry point runs our configs: MMPoseInferencer
with r18_synthetic.py (random weights) writes a picture with our
visualizer (instance masks) and the predictions."""
import json
import os.path as osp

import cv2
import numpy as np
import torch
from personlab_testing import REPO_ROOT

from personlab_mm.visualization import PersonLabVisualizer

CONFIG = osp.join(REPO_ROOT, 'configs', 'personlab', 'r18_synthetic.py')


def test_mmpose_inferencer_with_our_config(tmp_path):
    from mmpose.apis import MMPoseInferencer
    torch.manual_seed(0)
    img = np.full((200, 240, 3), 90, np.uint8)
    cv2.circle(img, (120, 100), 40, (200, 50, 50), -1)
    path = str(tmp_path / 'in.jpg')
    cv2.imwrite(path, img)
    inferencer = MMPoseInferencer(pose2d=CONFIG, pose2d_weights=None,
                                  device='cpu')
    assert isinstance(inferencer.inferencer.visualizer, PersonLabVisualizer)
    results = list(inferencer(path, vis_out_dir=str(tmp_path / 'vis'),
                              pred_out_dir=str(tmp_path / 'pred')))
    assert len(results) == 1
    people = results[0]['predictions'][0]
    assert people and len(people[0]['keypoints']) == 17
    picture = cv2.imread(str(tmp_path / 'vis' / 'in.jpg'))
    assert picture.shape == img.shape
    assert (picture != img).any()  # something was drawn
    with open(tmp_path / 'pred' / 'in.json') as f:
        assert len(json.load(f)) == len(people)
