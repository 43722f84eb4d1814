"""Only here to pass cffi_modules; all metadata lives in pyproject.toml.

The C kernel is optional: when it cannot be compiled (no C compiler, missing headers), the
install still succeeds and tokenfab runs on its numpy reference, warning once at run time
(see tokenfab.kernel). ``TOKENFAB_NO_NATIVE_BUILD=1`` skips the compile on purpose.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed compile of the kernel instead of failing the install."""

    def run(self):
        if os.environ.get("TOKENFAB_NO_NATIVE_BUILD", "") not in ("", "0"):
            print("tokenfab: TOKENFAB_NO_NATIVE_BUILD is set; the C kernel is not built", file=sys.stderr)
            return
        try:
            super().run()
        except Exception as exc:  # distutils/setuptools raise several unrelated types here
            self._report(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._report(exc)

    @staticmethod
    def _report(exc: Exception) -> None:
        print(
            f"tokenfab: the C kernel could not be built ({type(exc).__name__}: {exc}); "
            "tokenfab will run on its numpy reference",
            file=sys.stderr,
        )


# The kernel module is built against the stable ABI (_native.abi3.so), so one wheel serves every
# CPython from 3.10 on: tag it cp310-abi3.
setup(
    cffi_modules=["native/build_kernel.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
