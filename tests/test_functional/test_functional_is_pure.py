"""functional/ is pure torch: no registries, no toolbox imports, nothing
else of the package."""
import ast
import glob
import os.path as osp

import personlab_mm.functional as functional

FORBIDDEN = ('mmpose', 'mmdet', 'mmengine', 'mmcv', 'mmseg', 'personlab_mm')


def test_functional_imports_only_torch_numpy_and_itself():
    files = glob.glob(osp.join(osp.dirname(functional.__file__), '*.py'))
    assert len(files) >= 10
    for path in files:
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: within functional/
                    assert node.level == 1, (path, node.module)
                    continue
                names = [node.module]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), (path, name)
