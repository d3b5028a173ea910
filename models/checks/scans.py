#!/usr/bin/env python
"""Two static scans, teacher vs deployed models (energies relative to the unperturbed cell):
  1. one Na of a 2x2x2 cubic cell pushed straight towards its nearest S (Na-S 2.9 -> 1.2 A);
  2. the cubic cell expanded uniformly (x1.0 -> x2.0 in length): the binding curve.
usage: scans.py MODEL.nequip.pth [MODEL2 ...]        (prints a markdown table per scan)"""
import os, sys
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from structures import cubic_cell, teacher

calcs = {"teacher": teacher()}  # before any nequip import (nequip changes torch's default dtype)
from nequip.integrations.ase import NequIPCalculator  # noqa: E402

for m in sys.argv[1:]:
    calcs[os.path.basename(m)] = NequIPCalculator.from_compiled_model(m, device="cpu")


def energies(frames):
    out = {}
    for name, calc in calcs.items():
        e = []
        for f in frames:
            f = f.copy()
            f.calc = calc
            e.append(f.get_potential_energy())
        out[name] = np.array(e)
    return out


def table(title, xlabel, xs, e, per_atom):
    names = list(e)
    print(f"\n{title}\n\n| {xlabel} | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for i, x in enumerate(xs):
        print(f"| {x:.2f} | " + " | ".join(f"{(e[n][i] - e[n][0]) / per_atom:+.3f}" for n in names) + " |")


base = cubic_cell().repeat((2, 2, 2))
sym = np.array(base.get_chemical_symbols())
na = int(np.where(sym == "Na")[0][0])
s_idx = np.where(sym == "S")[0]
j = int(s_idx[np.argmin(base.get_distances(na, s_idx, mic=True))])
v = base.get_distance(na, j, mic=True, vector=True)
d0 = np.linalg.norm(v)
dists = [d0, 2.5, 2.2, 2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2]
frames = []
for d in dists:
    f = base.copy()
    f.positions[na] += v * (1 - d / d0)
    frames.append(f)
table("Na pushed towards its nearest S: E - E(2.9 A) in eV (cell total)", "Na-S (A)", dists,
      energies(frames), 1)

scales = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0]
frames = []
for s in scales:
    f = base.copy()
    f.set_cell(f.cell[:] * s, scale_atoms=True)
    frames.append(f)
table("Uniform expansion: E - E(x1.0) in eV/atom", "length scale", scales, energies(frames), len(base))
