"""personlab_mm.apis: image paths, BGR arrays and batches in, people with
keypoints, scores, boxes and masks out, in the image's own pixels."""
import glob
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from personlab_testing import REPO_ROOT

from personlab_mm.analysis import perfect_maps
from personlab_mm.apis import inference_personlab, init_personlab, people_of
from personlab_mm.functional import input_affine_from_meta
from personlab_mm.structures import DenseMaps

CONFIG = osp.join(REPO_ROOT, 'configs', 'personlab', 'r18_synthetic.py')


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_personlab(CONFIG, None, device='cpu')


@pytest.fixture(scope='module')
def val_images(synthetic_root):
    files = sorted(glob.glob(osp.join(synthetic_root, 'images', 'val',
                                      '*.jpg')))
    assert len(files) >= 3
    return files


def _assert_same_people(a, b, atol=1e-4):
    pa, pb = a.pred_instances, b.pred_instances
    assert len(pa) == len(pb)
    np.testing.assert_allclose(pa.keypoints, pb.keypoints, atol=atol)
    np.testing.assert_allclose(pa.scores, pb.scores, atol=atol)
    np.testing.assert_array_equal(pa.masks, pb.masks)


def _check_structure(sample, image_hw):
    pred = sample.pred_instances
    n = len(pred)
    assert pred.keypoints.shape == (n, 17, 2)
    assert pred.keypoint_scores.shape == (n, 17)
    assert pred.bboxes.shape == (n, 4)
    assert pred.scores.shape == (n, )
    assert pred.masks.shape == (n, *image_hw) and pred.masks.dtype == bool
    assert np.all(np.diff(pred.scores) <= 1e-6), 'people not best first'


def test_image_path_and_bgr_array_agree(model, val_images):
    path = val_images[0]
    image = cv2.imread(path)
    from_path = inference_personlab(model, path)
    from_array = inference_personlab(model, image)
    _check_structure(from_path, image.shape[:2])
    _assert_same_people(from_path, from_array)
    assert from_path.img_path == path


def test_batch_equals_one_by_one(model, val_images):
    singles = [inference_personlab(model, p) for p in val_images[:3]]
    # same image twice: no padding, so a batch must reproduce the singles
    twice = inference_personlab(model, [val_images[0], val_images[0]],
                                batch_size=2)
    assert isinstance(twice, list) and len(twice) == 2
    for sample in twice:
        _assert_same_people(sample, singles[0])
    # images of different sizes in one batch: each result in its own pixels
    mixed = inference_personlab(model, val_images[:3], batch_size=3)
    for path, sample in zip(val_images[:3], mixed):
        assert sample.img_path == path
        _check_structure(sample, cv2.imread(path).shape[:2])


def test_perfect_network_gives_ground_truth_people(model, val_images,
                                                   synthetic_root,
                                                   monkeypatch):
    """With the network replaced by the ground-truth maps, the API returns
    the annotated people in image pixels (resize + decode + mapping back)."""
    with open(osp.join(synthetic_root, 'annotations',
                       'person_keypoints_val.json')) as f:
        coco = json.load(f)
    ids = {osp.basename(im['file_name']): im['id'] for im in coco['images']}
    anns_of = {}
    for ann in coco['annotations']:
        anns_of.setdefault(ann['image_id'], []).append(ann)
    codec = model.head.decoder
    stride = int(model.test_cfg.get('output_stride', codec.output_stride))

    def perfect_predict(inputs, data_samples):
        h, w = inputs.shape[-2:]
        maps = []
        for sample in data_samples:
            meta = dict(sample.metainfo)
            meta['raw_ann_info'] = anns_of[ids[osp.basename(
                meta['img_path'])]]
            maps.append(
                perfect_maps(codec, meta, input_affine_from_meta(meta),
                             (h, w), stride))
        preds = model.head.decode(DenseMaps.cat(maps), data_samples,
                                  model.test_cfg)
        return model.add_pred_to_datasample(preds, None, data_samples)

    monkeypatch.setattr(model, 'predict', perfect_predict)
    path = val_images[1]
    sample = inference_personlab(model, path)
    anns = [
        a for a in anns_of[ids[osp.basename(path)]]
        if not a['iscrowd'] and a['num_keypoints'] >= 5
    ]
    assert anns, 'the test image needs annotated people'
    pred = sample.pred_instances
    for ann in anns:
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(17, 3)
        vis = gt[:, 2] > 0
        err = np.linalg.norm(pred.keypoints[:, vis] - gt[None, vis, :2],
                             axis=-1)
        best = err.mean(1).argmin()
        assert np.median(err[best]) < 2.0, \
            f'annotation {ann["id"]}: errors {np.round(err[best], 1)} px'
    people = people_of(sample, score_thr=0.)
    assert len(people) == len(pred)
    first = people[0]
    assert len(first['keypoints']) == 17 and len(first['bbox']) == 4
    assert first['segmentation']['size'] == list(pred.masks.shape[1:])
    json.dumps(people)  # JSON-ready


def test_bad_inputs_name_the_problem(model, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        inference_personlab(model, str(tmp_path / 'missing.jpg'))
    with pytest.raises(ValueError, match=r'image 1: expected an \(h, w, 3\)'):
        inference_personlab(
            model, [np.zeros((8, 8, 3), np.uint8),
                    np.zeros((8, 8), np.uint8)])
    with pytest.raises(TypeError, match='image 0'):
        inference_personlab(model, [123])
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'not a jpeg')
    with pytest.raises(Exception, match='corrupt.jpg'):
        inference_personlab(model, str(corrupt))
    with pytest.raises(FileNotFoundError, match='no_such_config'):
        init_personlab('no_such_config.py')
