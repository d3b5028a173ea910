#!/usr/bin/env python
"""`nequip-compile --mode torchscript` for torch >= 2.10.

nequip 0.19.1 refuses `--mode torchscript` when torch >= 2.10 (upstream deprecation of
torch.jit.script).  The refusal is a single check on the module-level flag
`nequip.scripts.compile._TORCH_GE_2_10`; TorchScript export itself still works on
torch 2.13, so we clear that flag and run nequip's own `main` unchanged.

Usage (same arguments as nequip-compile; `--mode torchscript` is added if missing):
    compile_torchscript.py IN(.nequip.zip|.ckpt) OUT.nequip.pth --device cpu [--target pair_allegro]
Note: `--target` only matters for AOTInductor; a TorchScript model always takes a
full AtomicDataDict (see nequip_reference.py for what pair_allegro feeds it).
"""
import sys
import warnings

import allegro  # noqa: F401  (registers the `pair_allegro` compile target)
import nequip.scripts.compile as nequip_compile


def main(argv):
    if "--mode" not in argv:
        argv = argv + ["--mode", "torchscript"]
    nequip_compile._TORCH_GE_2_10 = False  # only disables the refusal check
    with warnings.catch_warnings():
        # torch.jit.* emits deprecation warnings on torch >= 2.10
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        nequip_compile.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
