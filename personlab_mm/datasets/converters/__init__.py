"""Converters of other annotation formats to COCO panoptic (the command
lines are ``tools/dataset_converters/*.py``)."""
