# Only here to pass cffi_modules; all metadata lives in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["native/build_kernel.py:ffibuilder"])
