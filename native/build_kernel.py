"""cffi build script (API, out-of-line mode) for tokenfab's cost kernel.

``setup.py`` passes ``cffi_modules=["native/build_kernel.py:ffibuilder"]``; the
result is the extension module ``tokenfab._native``.  The declarations are read
from the one header, so C and Python never disagree on the layout.
"""

import pathlib
import re

import cffi

HERE = pathlib.Path(__file__).resolve().parent
HEADER = (HERE / "tokenfab_kernel.h").read_text()

ffibuilder = cffi.FFI()
# cdef does not run the preprocessor: turn the #define status codes into enum-like constants.
_cdef = re.sub(r"/\*.*?\*/", "", HEADER, flags=re.S)
_cdef = re.sub(r"#define\s+(\w+)\s+(-?\d+)", r"#define \1 \2", _cdef)
ffibuilder.cdef(_cdef)
ffibuilder.set_source(
    "tokenfab._native",
    '#include "tokenfab_kernel.h"',
    sources=[str((HERE / "tokenfab_kernel.c").relative_to(HERE.parent))],
    include_dirs=[str(HERE.relative_to(HERE.parent))],
    # -ffp-contract=off: no fused multiply-adds, so C and the numpy reference round alike.
    # -fno-trapping-math: selects may evaluate both sides (no value changes; FP exceptions never trap here),
    # so the blocked loops vectorise; -fno-math-errno: sqrt need not set errno (its value is IEEE's either way),
    # so the MoE lanes vectorise too. -O3, no -march: the wheel stays portable (AVX2 is chosen at run time).
    extra_compile_args=["-O3", "-std=c99", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
