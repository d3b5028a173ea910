"""Cubic Na3SbS4 (I-43m, ICSD 44707) as ASE Atoms, for the examples of docs/python.md."""
from ase.spacegroup import crystal


def cubic_na3sbs4(a=7.15, reps=(1, 1, 1)):
    """Sb on 2a (0,0,0), Na on 6b (0,1/2,1/2), S on 8c (x,x,x) with x = 0.187: 16 atoms a cell."""
    atoms = crystal(["Sb", "Na", "S"], basis=[(0, 0, 0), (0, 0.5, 0.5), (0.187, 0.187, 0.187)],
                    spacegroup=217, cellpar=[a, a, a, 90, 90, 90])
    return atoms.repeat(reps)


def tetragonal_na3sbs4(reps=(1, 1, 1)):
    """P-421c (No. 114), the low-temperature phase: Sb 2a, Na 2b and 4d (0,1/2,z), S 8e, with
    a = 7.1423, c = 7.2837 A and the coordinates relaxed with the reference DFT-level potential
    of models/MODEL_CARD.md (experiment: a = 7.16, c = 7.29 A)."""
    atoms = crystal(["Sb", "Na", "Na", "S"],
                    basis=[(0, 0, 0), (0, 0, 0.5), (0, 0.5, 0.57976), (0.21178, 0.16764, 0.18354)],
                    spacegroup=114, cellpar=[7.1423, 7.1423, 7.2837, 90, 90, 90])
    return atoms.repeat(reps)
