"""A short Langevin MD of W-doped Na3SbS4 with ASE on the native engine.

    python docs/examples/ase_md.py [MODEL]      (default: models/nawsbs.nequip.pth)

Cubic 2x2x2 cell (128 atoms), two Sb replaced by W and two Na removed (charge balance), 600 K,
2 fs steps, 1 ps; prints the temperature and potential energy every 100 fs.
"""
import sys

import numpy as np
from ase import units
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from allegro_rs import AllegroCalculator
from na3sbs4 import cubic_na3sbs4


def doped_cell(seed=7):
    atoms = cubic_na3sbs4(reps=(2, 2, 2))
    rng = np.random.default_rng(seed)
    symbols = np.array(atoms.get_chemical_symbols())
    symbols[rng.choice(np.where(symbols == "Sb")[0], 2, replace=False)] = "W"
    atoms.set_chemical_symbols(symbols)
    del atoms[sorted(rng.choice(np.where(symbols == "Na")[0], 2, replace=False))]
    return atoms


def langevin(model, temperature=600.0, steps=500, timestep_fs=2.0, seed=1, threads=1, log=print):
    atoms = doped_cell()
    atoms.calc = AllegroCalculator(model, threads=threads)
    thermalize_momenta(atoms, temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature, friction=0.02,
                   fixcm=False, rng=np.random.default_rng(seed + 1))
    temperatures = []

    def report():
        temperatures.append(atoms.get_temperature())
        log(f"t = {dyn.get_time() / units.fs / 1000:5.2f} ps  T = {temperatures[-1]:6.1f} K  "
            f"E_pot = {atoms.get_potential_energy() / len(atoms):.4f} eV/atom")

    dyn.attach(report, interval=max(1, int(100 / timestep_fs)))
    dyn.run(steps)
    return {"temperatures": np.array(temperatures), "atoms": atoms}


if __name__ == "__main__":
    langevin(sys.argv[1] if len(sys.argv) > 1 else "models/nawsbs.nequip.pth")
