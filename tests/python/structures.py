"""Test structures of Na3SbS4 and its variants, as ASE Atoms with LAMMPS-ready cells.

Cells are lower-triangular (a along x, b in the xy plane), so LAMMPS reads them without
rotating anything and forces compare component by component.
"""
import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

A_CUBIC = 7.15  # A, cubic Na3SbS4 (ICSD 44707; docs/observables.md)
TYPE_ORDER = ["Na", "Sb", "W", "S"]  # LAMMPS types 1..4 in every data file the tests write
MASSES = {"Na": 22.98977, "Sb": 121.760, "W": 183.84, "S": 32.06}


def cubic(reps=(1, 1, 1), a=A_CUBIC):
    """I-43m (No. 217): Sb 2a (0,0,0), Na 6b (0,1/2,1/2), S 8c (x,x,x) x=0.187 (ICSD 44707)."""
    cell = crystal(
        ["Sb", "Na", "S"],
        basis=[(0, 0, 0), (0, 0.5, 0.5), (0.187, 0.187, 0.187)],
        spacegroup=217,
        cellpar=[a, a, a, 90, 90, 90],
    )
    assert len(cell) == 16
    return cell.repeat(reps)


def tetragonal_like(reps=(1, 1, 1), seed=1):
    """Tetragonal P-421c Na3SbS4 with the Wyckoff parameters that allegro-build uses
    (models/structures.py: teacher-relaxed, a = 7.1423, c = 7.2837 A), slightly rattled."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "models" / "structures.py"
    spec = importlib.util.spec_from_file_location("model_structures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    atoms = module.tetragonal_cell().repeat(reps)
    atoms.rattle(0.02, seed=seed)
    return atoms


def w_doped_with_vacancies(reps=(2, 2, 1), n_w=2, seed=7):
    """Na(3-x)W(x)Sb(1-x)S4: n_w W on Sb sites and as many Na vacancies, seeded."""
    atoms = cubic(reps)
    rng = np.random.default_rng(seed)
    sym = np.array(atoms.get_chemical_symbols())
    sb = np.where(sym == "Sb")[0]
    sym[rng.choice(sb, n_w, replace=False)] = "W"
    atoms.set_chemical_symbols(sym)
    na = np.where(sym == "Na")[0]
    del atoms[sorted(rng.choice(na, n_w, replace=False))]
    atoms.rattle(0.05, seed=seed)
    return atoms


def strained_triclinic(seed=3):
    """Cubic cell under a general (shear) strain: all three tilt factors non-zero."""
    atoms = cubic()
    strain = np.array([[1.02, 0.0, 0.0], [0.04, 0.99, 0.0], [-0.03, 0.05, 1.01]])
    atoms.set_cell(atoms.cell[:] @ strain.T @ np.eye(3), scale_atoms=True)
    atoms = lower_triangular(atoms)
    atoms.rattle(0.03, seed=seed)
    return atoms


def small_cell(seed=5):
    """A 4-atom triclinic cell, far smaller than twice the cutoff: atoms see their own images."""
    cell = np.array([[4.6, 0.0, 0.0], [0.8, 4.4, 0.0], [0.5, -0.6, 4.9]])
    atoms = Atoms("NaSbWS", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.0, 0.5, 0.25], [0.5, 0.1, 0.8]],
                  cell=cell, pbc=True)
    atoms.rattle(0.02, seed=seed)
    return atoms


def lower_triangular(atoms):
    """Same crystal, rotated so that the cell matrix is lower-triangular (LAMMPS convention)."""
    a, b, c = atoms.cell.cellpar()[:3]
    alpha, beta, gamma = np.radians(atoms.cell.cellpar()[3:])
    ax = a
    bx, by = b * np.cos(gamma), b * np.sin(gamma)
    cx = c * np.cos(beta)
    cy = (b * c * np.cos(alpha) - bx * cx) / by
    cz = np.sqrt(c * c - cx * cx - cy * cy)
    new_cell = np.array([[ax, 0, 0], [bx, by, 0], [cx, cy, cz]])
    frac = atoms.get_scaled_positions(wrap=False)
    out = atoms.copy()
    out.set_cell(new_cell)
    out.set_scaled_positions(frac)
    return out


def all_structures():
    return {
        "cubic": cubic(),
        "tetragonal": tetragonal_like(),  # P-421c, as allegro-build makes it
        "w_doped_vacancies": w_doped_with_vacancies(),
        "triclinic": strained_triclinic(),
        "small_cell": small_cell(),
    }


def write_lammps_data(atoms, path):
    """atom_style atomic data file with types in TYPE_ORDER; cell must be lower-triangular."""
    cell = atoms.cell[:]
    assert abs(cell[0, 1]) < 1e-12 and abs(cell[0, 2]) < 1e-12 and abs(cell[1, 2]) < 1e-12
    lines = ["Na-Sb-W-S test structure (allegro-rs)", "", f"{len(atoms)} atoms", f"{len(TYPE_ORDER)} atom types", ""]
    lines += [f"0 {cell[0, 0]:.17g} xlo xhi", f"0 {cell[1, 1]:.17g} ylo yhi", f"0 {cell[2, 2]:.17g} zlo zhi"]
    lines += [f"{cell[1, 0]:.17g} {cell[2, 0]:.17g} {cell[2, 1]:.17g} xy xz yz", "", "Masses", ""]
    lines += [f"{i + 1} {MASSES[s]}  # {s}" for i, s in enumerate(TYPE_ORDER)]
    lines += ["", "Atoms  # atomic", ""]
    for i, (s, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.get_positions())):
        lines.append(f"{i + 1} {TYPE_ORDER.index(s) + 1} {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
