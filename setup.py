"""Install personlab_mm so that ``mim train/test personlab_mm ...`` work.

``mim`` looks for ``<site-packages>/personlab_mm/.mim/tools/{train,test}.py``
and for config basenames under ``<site-packages>/personlab_mm/``:

- regular installs (``pip install .``, wheels, sdists): ``build_py`` copies
  ``tools/`` and ``configs/`` into ``personlab_mm/.mim/`` inside the build;
- editable installs (``pip install -e .``, PEP 660) never run a develop
  hook and leave nothing under site-packages but a ``.pth`` file, so the
  editable wheel gets small forwarders there instead: each tool runs the
  source tree's script and each config inherits (``_base_``) the source
  tree's file, so edits to the checkout take effect without reinstalling
  (a *new* config or tool needs ``pip install -e .`` again). The source root
  goes on ``sys.path`` (``package_dir={'': '.'}``), where the real package
  takes precedence over the forwarders' directory, which has no
  ``__init__.py``;
- legacy ``setup.py develop``: ``personlab_mm/.mim/{tools,configs}`` become
  symlinks into the checkout.
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop
from setuptools.command.editable_wheel import editable_wheel

HERE = osp.dirname(osp.abspath(__file__))
MIM_ITEMS = ('tools', 'configs')


def read_version() -> str:
    scope = {}
    with open(osp.join(HERE, 'personlab_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def mim_files():
    """(path relative to HERE) of every .py file under tools/ and configs/."""
    for item in MIM_ITEMS:
        for root, _, files in os.walk(osp.join(HERE, item)):
            if '__pycache__' in root:
                continue
            for name in sorted(files):
                if name.endswith('.py'):
                    yield osp.relpath(osp.join(root, name), HERE)


class BuildPyWithMim(build_py):
    """Copy tools/ and configs/ into personlab_mm/.mim of the build."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        for item in MIM_ITEMS:
            src = osp.join(HERE, item)
            dst = osp.join(self.build_lib, 'personlab_mm', '.mim', item)
            if osp.isdir(src):
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(
                    src, dst, ignore=shutil.ignore_patterns('__pycache__'))


def forwarder(rel_path: str) -> str:
    """Source of an editable-install forwarder for tools/ or configs/."""
    target = osp.join(HERE, rel_path)
    if rel_path.startswith('configs'):
        return ('# Written by personlab_mm\'s editable install: the config '
                'lives in the checkout.\n'
                f'_base_ = {target!r}\n')
    return ('"""Written by personlab_mm\'s editable install: runs the '
            'checkout\'s script."""\n'
            'import runpy\nimport sys\n\n'
            f'sys.argv[0] = {target!r}\n'
            f'runpy.run_path({target!r}, run_name=\'__main__\')\n')


class _AddFiles:
    """Wrap an editable strategy to write extra files into the wheel."""

    def __init__(self, strategy, extra):
        self.strategy, self.extra = strategy, extra

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        for arcname, text in self.extra.items():
            wheel.writestr(arcname, text)

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)


class EditableWheelWithMim(editable_wheel):
    """PEP 660 editable wheel with mim forwarders in personlab_mm/.mim."""

    def _select_strategy(self, name, tag, build_lib):
        extra = {
            f'personlab_mm/.mim/{rel}': forwarder(rel)
            for rel in mim_files()
        }
        return _AddFiles(
            super()._select_strategy(name, tag, build_lib), extra)


class DevelopWithMim(develop):
    """Legacy ``setup.py develop``: symlink .mim entries to the checkout."""

    def run(self):
        mim_dir = osp.join(HERE, 'personlab_mm', '.mim')
        os.makedirs(mim_dir, exist_ok=True)
        for item in MIM_ITEMS:
            link = osp.join(mim_dir, item)
            if osp.lexists(link):
                if osp.islink(link) or osp.isfile(link):
                    os.remove(link)
                else:
                    shutil.rmtree(link)
            os.symlink(osp.join('..', '..', item), link)
        super().run()


setup(
    name='personlab_mm',
    version=read_version(),
    description='PersonLab bottom-up pose estimation and person instance '
    'segmentation for MMPose',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['personlab_mm', 'personlab_mm.*']),
    package_dir={'': '.'},
    include_package_data=False,
    install_requires=[
        'mmengine>=0.10.0,<1.0.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmpose>=1.3.0,<1.4.0',
        'mmdet>=3.3.0,<3.4.0',
        'numpy<2',
        'opencv-python',
        'pycocotools',
    ],
    extras_require=dict(mim=['openmim>=0.3.9']),
    cmdclass=dict(
        build_py=BuildPyWithMim,
        editable_wheel=EditableWheelWithMim,
        develop=DevelopWithMim),
    zip_safe=False,
)
