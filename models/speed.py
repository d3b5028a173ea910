#!/usr/bin/env python
"""TorchScript model-call time on a 1,024-atom cell (4x4x4 tetragonal Na3SbS4), 1 thread.
Times only `call_model` of nequip's ASE calculator (neighbour list built once, outside the timer):
2 warm-up calls, then the median of 7 calls.   usage: speed.py MODEL.nequip.pth [...]"""
import os, sys, time, json
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import torch
torch.set_num_threads(1)
import warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nequip.integrations.ase import NequIPCalculator
from structures import tetragonal_cell

at = tetragonal_cell().repeat((4, 4, 4))
at.rattle(0.05, seed=1)
res = {}
for m in sys.argv[1:]:
    calc = NequIPCalculator.from_compiled_model(m, device="cpu")
    data = calc.atoms_to_data(at)
    for _ in range(2):
        calc.call_model(dict(data))
    ts = []
    for _ in range(7):
        t = time.perf_counter()
        calc.call_model(dict(data))
        ts.append(time.perf_counter() - t)
    t = float(np.median(ts))
    res[os.path.basename(m)] = dict(atoms=len(at), call_s=round(t, 4), us_per_atom=round(1e6 * t / len(at), 1),
                                    atom_steps_per_s=round(len(at) / t))
    print(os.path.basename(m), res[os.path.basename(m)], flush=True)
print(json.dumps(res))
