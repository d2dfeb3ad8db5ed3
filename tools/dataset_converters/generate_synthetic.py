"""Write the embedded synthetic datasets to disk.

The people set (COCO keypoints and masks)::

    python tools/dataset_converters/generate_synthetic.py \
        --root data/personlab_synthetic --splits train val

The panoptic set (COCO panoptic PNGs and json, plus COCO instance
annotations of the things; ``--root`` defaults to
``data/synthetic_panoptic``, ``--seed`` is also accepted)::

    python tools/dataset_converters/generate_synthetic.py --panoptic \
        --splits train val

Configs using ``PersonLabSyntheticDataset`` or ``SyntheticPanopticDataset``
generate them on first use; this tool is for looking at them or using them
elsewhere.
"""
import argparse
from typing import List, Optional

from personlab_mm.datasets.synthetic import main as people_main
from personlab_mm.datasets.synthetic import panoptic_main


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--panoptic', action='store_true')
    args, rest = parser.parse_known_args(argv)
    (panoptic_main if args.panoptic else people_main)(rest)


if __name__ == '__main__':
    main()
