"""Only here to tag the wheel for the platform when it carries liblipc.so
(pyproject.toml holds the rest): a pure-Python tag would let pip install a
Linux x86-64 library anywhere."""
import os

from setuptools import setup
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


class _MaybeBinary(Distribution):
    def has_ext_modules(self):
        return os.path.exists(os.path.join(HERE, "lipc", "liblipc.so"))


cmdclass = {}
try:  # the tag says "any Python 3, no ABI": the package is ctypes only
    from wheel.bdist_wheel import bdist_wheel

    class _bdist_wheel(bdist_wheel):
        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = _bdist_wheel
except ImportError:
    pass

setup(distclass=_MaybeBinary, cmdclass=cmdclass)
