"""Relax cubic Na3SbS4 (positions and cell) with ASE's FrechetCellFilter on the native engine.

    python docs/examples/ase_relax.py [MODEL]      (default: models/nawsbs.nequip.pth)
"""
import sys

import numpy as np
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS

from allegro_rs import AllegroCalculator
from na3sbs4 import cubic_na3sbs4


def relax(model, fmax=0.005, threads=1):
    atoms = cubic_na3sbs4(a=7.30)  # start 2 % off the experimental 7.15 A
    atoms.rattle(0.03, seed=1)
    atoms.calc = AllegroCalculator(model, threads=threads)
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    converged = opt.run(fmax=fmax, steps=500)
    return {
        "converged": bool(converged),
        "steps": opt.nsteps,
        "a": float(np.cbrt(atoms.get_volume())),  # A (cubic: the cube root of the volume)
        "energy_per_atom": atoms.get_potential_energy() / len(atoms),  # eV
        "max_force": float(np.abs(atoms.get_forces()).max()),  # eV/A
        "max_stress": float(np.abs(atoms.get_stress()).max()),  # eV/A^3
        "atoms": atoms,
    }


if __name__ == "__main__":
    r = relax(sys.argv[1] if len(sys.argv) > 1 else "models/nawsbs.nequip.pth")
    print(f"relaxed in {r['steps']} steps: a = {r['a']:.4f} A, E = {r['energy_per_atom']:.5f} eV/atom, "
          f"max |F| = {r['max_force']:.1e} eV/A, max |stress| = {r['max_stress']:.1e} eV/A^3")
