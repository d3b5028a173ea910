"""Phonons of a crystal with phonopy, the forces from the native engine through ASE.

    python docs/examples/ase_phonopy.py [MODEL] [STRUCTURE]
        (defaults: models/nawsbs.nequip.pth, cubic Na3SbS4 at a = 7.15 A)

Prints the frequencies (THz, imaginary ones negative) at GAMMA, X (0 1/2 0), M (1/2 1/2 0)
and R (1/2 1/2 1/2) of the conventional cell.
"""
import sys
import warnings

import numpy as np
from ase import Atoms
from ase.io import read
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

from allegro_rs import AllegroCalculator
from na3sbs4 import cubic_na3sbs4


def force_constants(model, atoms, supercell=(2, 2, 2), distance=0.02, threads=1):
    """phonopy's symmetry-reduced +- displacements, forces by AllegroCalculator."""
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell[:],
                        positions=atoms.positions, masses=atoms.get_masses())
    with warnings.catch_warnings():  # phonopy 4 notes that "auto" differs from phonopy 3
        warnings.simplefilter("ignore")
        ph = Phonopy(unit, supercell_matrix=np.diag(supercell), primitive_matrix="auto")
    ph.generate_displacements(distance=distance, is_plusminus=True)
    calc = AllegroCalculator(model, threads=threads)
    forces = []
    for sc in ph.supercells_with_displacements:
        displaced = Atoms(sc.symbols, positions=sc.positions, cell=sc.cell, pbc=True)
        displaced.calc = calc
        forces.append(displaced.get_forces())
    ph.forces = np.array(forces)
    ph.produce_force_constants()
    return ph


def frequencies_at(ph, unit_cell, q):
    """Sorted frequencies (THz) at q in reciprocal coordinates of the conventional cell."""
    q_cart = np.asarray(q) @ np.linalg.inv(np.asarray(unit_cell)).T
    return np.sort(ph.run_qpoints([q_cart @ np.asarray(ph.primitive.cell).T]).frequencies[0])


POINTS = {"GAMMA": (0, 0, 0), "X": (0, 0.5, 0), "M": (0.5, 0.5, 0), "R": (0.5, 0.5, 0.5)}

if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "models/nawsbs.nequip.pth"
    atoms = read(sys.argv[2]) if len(sys.argv) > 2 else cubic_na3sbs4()
    ph = force_constants(model, atoms)
    for label, q in POINTS.items():
        print(f"{label:6s}", " ".join(f"{f:7.3f}" for f in frequencies_at(ph, atoms.cell[:], q)))
