"""Write the embedded synthetic people dataset (COCO format) to disk.

    python tools/dataset_converters/generate_synthetic.py \
        --root data/personlab_synthetic --splits train val

Configs using ``PersonLabSyntheticDataset`` generate it on first use; this
tool is for looking at it or using it elsewhere.
"""
from personlab_mm.datasets.synthetic import main

if __name__ == '__main__':
    main()
