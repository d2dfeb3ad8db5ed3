"""Cityscapes gtFine to COCO panoptic, for MMDetection's CocoPanopticDataset.

The conversion lives in
:mod:`personlab_mm.datasets.converters.cityscapes_panoptic` (its docstring
has the format and every rule)::

    python tools/dataset_converters/cityscapes_panoptic.py --help
"""
from personlab_mm.datasets.converters.cityscapes_panoptic import main

if __name__ == '__main__':
    main()
