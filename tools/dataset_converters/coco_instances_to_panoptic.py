"""COCO instance annotations to a COCO-panoptic set of chosen thing classes.

The conversion lives in
:mod:`personlab_mm.datasets.converters.coco_instances_to_panoptic`
(its docstring has the format and every rule)::

    python tools/dataset_converters/coco_instances_to_panoptic.py --help
"""
from personlab_mm.datasets.converters.coco_instances_to_panoptic import main

if __name__ == '__main__':
    main()
