#!/usr/bin/env python
"""The teacher's sheared Na3SbS4 cell (MODEL_CARD.md, "Known limitations"): relaxes a LAMMPS data
file of a sheared 2x2x2 cell (positions and cell, FIRE + FrechetCellFilter, fmax 5 meV/A) with
the teacher (SevenNet-MF-0, R2SCAN head), relaxes a tetragonal cell the same way, and writes the
sheared cell as extended XYZ with both energies per atom in its info line.

    models/checks/sheared_cell.py SHEARED.data TETRAGONAL.data OUT.xyz     (~5 min, 1 thread)

The shipped file, models/data/teacher_sheared_2x2x2.xyz, came from the end of a 100 K NPT run
(128 atoms, fully flexible cell) of the stage-4d model, relaxed with that model (LAMMPS box/relax
tri); tests/python/test_phase_rules.py starts a run from it."""
import os
import sys

from ase.filters import FrechetCellFilter
from ase.io import read, write
from ase.optimize import FIRE

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/
import structures  # noqa: E402


def relaxed(path, teacher):
    atoms = read(path, format="lammps-data", style="atomic")
    if atoms.get_atomic_numbers().max() <= 4:  # types 1-4 without masses: Na Sb W S
        atoms.set_chemical_symbols([["Na", "Sb", "W", "S"][z - 1] for z in atoms.get_atomic_numbers()])
    atoms.calc = teacher
    FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=0.005, steps=500)
    return atoms


def main():
    sheared, tetragonal, out = sys.argv[1:4]
    teacher = structures.teacher()
    s = relaxed(sheared, teacher)
    t = relaxed(tetragonal, teacher)
    es, et = s.get_potential_energy() / len(s), t.get_potential_energy() / len(t)
    s.info.update(teacher_energy_per_atom=es, teacher_tetragonal_energy_per_atom=et)
    write(out, s, format="extxyz")
    print(f"sheared: {es:.6f} eV/atom, lengths {s.cell.lengths() / 2} A, angles {s.cell.angles()} deg")
    print(f"tetragonal: {et:.6f} eV/atom, lengths {t.cell.lengths() / 2} A")
    print(f"sheared - tetragonal: {1e3 * (es - et):.2f} meV/atom")


if __name__ == "__main__":
    main()
