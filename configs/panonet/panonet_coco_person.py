"""PanoNet, COCO people only: one thing class (``person``) and one stuff
class (``background``: every pixel no person annotation covers), evaluated
with person segm AP exactly as PersonLab's configs are (MMDetection's COCO
segm metric on ``person_keypoints_val2017.json``), so the bottom-up methods
compare on the same data and metric; PQ (on the converted val set) and
mIoU come in the same ``mim test``. The panoptic form of the person
annotations is made once (see ``pdl_r50_coco_person.py``)::

    for split in train2017 val2017; do
      python tools/dataset_converters/coco_instances_to_panoptic.py \
        --ann-file data/coco/annotations/person_keypoints_$split.json \
        --out-json data/coco/annotations/person_panoptic_$split.json \
        --out-dir data/coco/annotations/person_panoptic_$split
    done
    mim train personlab_mm panonet_coco_person.py --gpus 8 \
        --launcher pytorch

Model, schedule and choices as ``panonet_coco_panoptic.py``; one
bandwidth (0.5) for the one thing class.
"""
_base_ = ['./panonet_coco_panoptic.py']

metainfo = dict(
    classes=('person', 'background'),
    thing_classes=('person', ),
    stuff_classes=('background', ),
    palette=[(220, 20, 60), (128, 128, 128)])
model = dict(head=dict(num_things_classes=1, num_stuff_classes=1))
data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        metainfo=metainfo,
        ann_file='annotations/person_panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/person_panoptic_train2017/')))
val_dataloader = dict(
    dataset=dict(
        metainfo=metainfo,
        ann_file='annotations/person_panoptic_val2017.json',
        data_prefix=dict(
            img='val2017/', seg='annotations/person_panoptic_val2017/')))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'annotations/person_panoptic_val2017.json',
        seg_prefix=data_root + 'annotations/person_panoptic_val2017/'),
    dict(
        type='CocoMetric',
        metric='segm',
        ann_file=data_root + 'annotations/person_keypoints_val2017.json'),
    dict(type='SemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
