#!/usr/bin/env bash
# Build the cost kernel with AddressSanitizer and UndefinedBehaviorSanitizer and run the kernel
# tests (and, with --long, the Hypothesis fuzz tests) against that build.
#
#   tools/sanitize_kernel.sh            # kernel tests under ASan/UBSan (about a minute)
#   tools/sanitize_kernel.sh --long     # plus tests/test_fuzz.py with TOKENFAB_FUZZ_EXAMPLES=2000
#
# How: a copy of the package (core/ as tokenfab, plugins/ as tokenfab.plugins) goes to a temporary
# folder, cffi builds tokenfab._native there with -fsanitize=address,undefined, and pytest runs
# with that folder first on PYTHONPATH and libasan preloaded (CPython itself is not instrumented,
# so leak detection is off: the interpreter keeps memory until exit by design). Any ASan or UBSan
# report aborts the run (halt_on_error), so a zero exit status means the kernel ran clean.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cp -r core "$WORK/tokenfab"
rm -f "$WORK"/tokenfab/_native*.so
cp -r plugins "$WORK/tokenfab/plugins"
cp -r native "$WORK/native"

cat > "$WORK/build_sanitized.py" <<'PY'
import pathlib, re, sys
import cffi

here = pathlib.Path(sys.argv[1])
header = (here / "native" / "tokenfab_kernel.h").read_text()
cdef = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
ffi = cffi.FFI()
ffi.cdef(cdef)
# -DTF_PORTABLE_ONLY: the portable blocked code alone (the normal build picks the AVX2 clone on a
# CPU that has it), with the kernel's floating-point flags (native/build_kernel.py).
flags = ["-O1", "-g", "-std=c99", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
         "-fno-sanitize-recover=undefined", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno",
         "-DTF_PORTABLE_ONLY"]
ffi.set_source("tokenfab._native", '#include "tokenfab_kernel.h"',
               sources=[str(here / "native" / "tokenfab_kernel.c")], include_dirs=[str(here / "native")],
               extra_compile_args=flags, extra_link_args=["-fsanitize=address,undefined"])
ffi.compile(tmpdir=str(here), verbose=False)
PY
(cd "$WORK" && "$PYTHON" build_sanitized.py "$WORK")
SO=$(ls "$WORK"/tokenfab/_native*.so)
ldd "$SO" | grep libasan >/dev/null || { echo "the kernel was not built with ASan" >&2; exit 1; }
ldd "$SO" | grep libubsan >/dev/null || { echo "the kernel was not built with UBSan" >&2; exit 1; }

# Sanitized code runs several times slower: no Hypothesis deadlines under the sanitizers.
cat > "$WORK/sanitize_profile.py" <<'PY'
from hypothesis import settings

settings.register_profile("sanitize", deadline=None)
settings.load_profile("sanitize")
PY

ASAN_LIB=$(gcc -print-file-name=libasan.so)
UBSAN_LIB=$(gcc -print-file-name=libubsan.so)
TESTS=(tests/test_kernel.py tests/test_fastpath.py tests/test_engine.py)
if [[ "${1:-}" == "--long" ]]; then
  TESTS+=(tests/test_fuzz.py)
  export TOKENFAB_FUZZ_EXAMPLES=${TOKENFAB_FUZZ_EXAMPLES:-2000}
fi
cd "$WORK"  # so that `import tokenfab` finds the sanitized copy, not the editable install
export PYTHONPATH="$WORK"
export LD_PRELOAD="$ASAN_LIB $UBSAN_LIB"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
"$PYTHON" - <<'PY'
import os, tokenfab, tokenfab.kernel as k, tokenfab._native as native
assert native.__file__.startswith(os.environ["PYTHONPATH"]), native.__file__
assert k.native_available(), "sanitized kernel did not load"
print("sanitized kernel:", native.__file__)
PY
"$PYTHON" -m pytest -q -p no:cacheprovider -p sanitize_profile --rootdir "$ROOT" "${TESTS[@]/#/$ROOT/}"
echo "kernel clean under AddressSanitizer and UndefinedBehaviorSanitizer"
