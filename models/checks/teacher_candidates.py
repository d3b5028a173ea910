#!/usr/bin/env python
"""Does a candidate teacher keep Na3SbS4 tetragonal (P-42_1c) at 0 K, or does it prefer the
rhombohedrally sheared cell that SevenNet-MF-0 prefers (MODEL_CARD.md, "Hot stability")?

For one universal potential this relaxes, positions and cell (FIRE + FrechetCellFilter, no
symmetry constraint, fmax 5 meV/A), three 128-atom cells: the cubic I-43m cell, the tetragonal
cell of structures.py and the sheared cell of data/teacher_sheared_2x2x2.xyz; and prints each
one's energy per atom, lengths and angles, then E(sheared) - E(tetragonal) and c/a.  A teacher
for a T_C model needs E(sheared) - E(tetragonal) > 0 (or the sheared cell relaxing back to
right angles) and c/a near experiment's 1.018 (a = 7.16, c = 7.29 A).

    models/checks/teacher_candidates.py NAME      (~5-10 min, 1 thread)

NAME: 7net-mf-0 (the current teacher, R2SCAN head), 7net-mf-0-pbe, 7net-0, 7net-0-22may2024,
7net-l3i5 (sevenn wheel), chgnet-0.3.0, chgnet-r2scan (chgnet wheel; install chgnet==0.4.2 into a
copy of the venv, it is not a project dependency)."""
import os
import sys

import numpy as np
from ase.filters import FrechetCellFilter
from ase.io import read
from ase.optimize import FIRE

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # models/
import structures  # noqa: E402


def calculator(name):
    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore")
    if name == "7net-mf-0":
        return structures.teacher()
    if name == "7net-mf-0-pbe":
        return structures.teacher(modal="PBE")
    if name.startswith("7net"):
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator(name, device="cpu")
    if name.startswith("chgnet"):
        from chgnet.model import CHGNet, CHGNetCalculator

        model = CHGNet.load(model_name=name.split("-", 1)[1], use_device="cpu", verbose=False)
        return CHGNetCalculator(model=model, use_device="cpu", stress_weight=1 / 160.21766208)
    raise SystemExit(f"unknown candidate {name!r}")


def relax(atoms, calc):
    atoms = atoms.copy()
    atoms.calc = calc
    FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=0.005, steps=600)
    return atoms


def describe(label, atoms):
    e = atoms.get_potential_energy() / len(atoms)
    lengths = atoms.cell.lengths() / 2
    print(f"{label:11s} {e:.6f} eV/atom  lengths {np.round(lengths, 4)} A  angles "
          f"{np.round(atoms.cell.angles(), 3)} deg", flush=True)
    return e, lengths


def main():
    name = sys.argv[1]
    calc = calculator(name)
    # relax() works on a copy, which leaves the file's stored energies behind
    sheared = read(os.path.join(os.path.dirname(HERE), "data", "teacher_sheared_2x2x2.xyz"))
    cubic = structures.cubic_cell().repeat((2, 2, 2))
    tet = structures.tetragonal_cell().repeat((2, 2, 2))
    print(f"candidate {name}", flush=True)
    ec, _ = describe("cubic", relax(cubic, calc))
    et, lt = describe("tetragonal", relax(tet, calc))
    es, _ = describe("sheared", relax(sheared, calc))
    print(f"{name}: E_tet - E_cub {1e3 * (et - ec):+.2f} meV/atom, E_sheared - E_tet "
          f"{1e3 * (es - et):+.2f} meV/atom, c/a {lt[2] / lt[0]:.4f}")


if __name__ == "__main__":
    main()
