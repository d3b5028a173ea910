"""Na3SbS4 / Na(3-x)W(x)Sb(1-x)S4 structure builders (shared by make_dataset.py and the checks).

Cubic I-43m (No. 217), conventional cell, Z = 2: Sb 2a (0,0,0); Na 6b (0,1/2,1/2); S 8c (x,x,x),
x = 0.187, a = 7.15 A (ICSD 44707; Klarbring & Walsh).

Tetragonal P-421c (No. 114): no reliable published Wyckoff coordinates could be reached from this
machine (the search tools returned no CIF for tetragonal Na3SbS4).  The tetragonal structure used
here is therefore DERIVED with the teacher (SevenNet-MF-0, R2SCAN head): built in P-421c from the
cubic one with a small Na shuffle along [001] and an SbS4 rotation about [001], c/a = 1.02, then
relaxed under FixSymmetry (see derive_tetragonal.py, which regenerates the TETRA numbers below and
checks the space group with spglib).
"""
import numpy as np
from ase import Atoms

A_CUB = 7.15
X_S = 0.187


def cubic_cell(a=A_CUB, x=X_S):
    """16-atom conventional cubic Na3SbS4 (I-43m)."""
    sb = [(0, 0, 0), (0.5, 0.5, 0.5)]
    na6b = [(0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0)]
    na = na6b + [tuple((np.array(p) + 0.5) % 1.0) for p in na6b]
    s_base = [(x, x, x), (-x, -x, x), (-x, x, -x), (x, -x, -x)]  # -43m orbit of (x,x,x)
    s = s_base + [tuple(np.array(p) + 0.5) for p in s_base]
    frac = np.array(na + sb + s) % 1.0
    sym = ["Na"] * 6 + ["Sb"] * 2 + ["S"] * 8
    return Atoms(sym, scaled_positions=frac, cell=[a, a, a], pbc=True)


# Teacher-relaxed P-421c parameters printed by derive_tetragonal.py (SevenNet-MF-0 R2SCAN,
# FixSymmetry + FrechetCellFilter, fmax 2e-4 eV/A): a = 7.1423 A, c = 7.2837 A (c/a = 1.0198),
# Na 4d z = 0.57976, S 8e (0.21178, 0.16764, 0.18354); E_tet - E_cub = -5.84 meV/atom
# (cubic a = 7.1547 A).  Experiment: a = 7.16, c = 7.29 A.
TETRA = dict(a=7.1423, c=7.2837, z_na=0.57976, s=(0.21178, 0.16764, 0.18354))
A_CUB_TEACHER = 7.1547  # the teacher's relaxed cubic lattice parameter (same relaxation)


def tetragonal_cell(**kw):
    p = dict(TETRA)
    p.update(kw)
    return p421c_cell(p["a"], p["c"], p["z_na"], p["s"])


def dope(atoms, n_w, rng, clustered=False):
    """Replace n_w Sb by W and remove one Na per W (charge compensation).
    clustered: W on the Sb sites nearest to a random Sb; vacancies on the Na nearest to each W.
    spread: W on random Sb; vacancies on random Na."""
    atoms = atoms.copy()
    sym = np.array(atoms.get_chemical_symbols())
    sb = np.where(sym == "Sb")[0]
    na = np.where(sym == "Na")[0]
    if n_w == 0:
        return atoms
    if clustered:
        c = rng.choice(sb)
        d = atoms.get_distances(c, sb, mic=True)
        w = sb[np.argsort(d)[:n_w]]
    else:
        w = rng.choice(sb, size=n_w, replace=False)
    sym[w] = "W"
    if clustered:
        vac = []
        for wi in w:
            d = atoms.get_distances(wi, na, mic=True)
            for j in np.argsort(d):
                if na[j] not in vac:
                    vac.append(na[j])
                    break
        vac = np.array(vac)
    else:
        vac = rng.choice(na, size=n_w, replace=False)
    atoms.set_chemical_symbols(list(sym))
    del atoms[list(np.sort(vac)[::-1])]
    return atoms


def teacher(modal="R2SCAN"):
    """SevenNet-MF-0 (weights shipped in the sevenn 0.13.0 wheel), R2SCAN head."""
    import torch
    torch.set_num_threads(1)
    import warnings
    warnings.filterwarnings("ignore")
    from sevenn.calculator import SevenNetCalculator
    return SevenNetCalculator("7net-mf-0", modal=modal, device="cpu")


# P-421c (No. 114) symmetry operations (International Tables, origin at -4)
P421C_OPS = [
    (np.eye(3), np.zeros(3)),
    (np.diag([-1, -1, 1]), np.zeros(3)),
    (np.array([[0, 1, 0], [-1, 0, 0], [0, 0, -1]]), np.zeros(3)),      # y, -x, -z
    (np.array([[0, -1, 0], [1, 0, 0], [0, 0, -1]]), np.zeros(3)),      # -y, x, -z
    (np.diag([-1, 1, -1]), np.array([0.5, 0.5, 0.5])),                 # 1/2-x, 1/2+y, 1/2-z
    (np.diag([1, -1, -1]), np.array([0.5, 0.5, 0.5])),                 # 1/2+x, 1/2-y, 1/2-z
    (np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]]), np.array([0.5, 0.5, 0.5])),    # 1/2+y, 1/2+x, 1/2+z
    (np.array([[0, -1, 0], [-1, 0, 0], [0, 0, 1]]), np.array([0.5, 0.5, 0.5])),  # 1/2-y, 1/2-x, 1/2+z
]


def _orbit(p):
    out = []
    for R, t in P421C_OPS:
        q = (R @ np.asarray(p, float) + t) % 1.0
        if not any(np.allclose(np.minimum(abs(q - o), 1 - abs(q - o)), 0, atol=1e-6) for o in out):
            out.append(q)
    return out


def p421c_cell(a, c, z_na, s):
    """Na3SbS4 in P-421c: Sb 2a (0,0,0); Na 2b (0,0,1/2); Na 4d (0,1/2,z_na); S 8e s=(x,y,z).
    Atom order: Na (6), Sb (2), S (8), as cubic_cell().  With z_na = 1/2, s = (0.187,)*3 and a = c
    this is exactly the cubic I-43m structure."""
    na = _orbit((0, 0, 0.5)) + _orbit((0, 0.5, z_na))
    sb = _orbit((0, 0, 0))
    ss = _orbit(s)
    assert (len(na), len(sb), len(ss)) == (6, 2, 8), (len(na), len(sb), len(ss))
    return Atoms(["Na"] * 6 + ["Sb"] * 2 + ["S"] * 8, scaled_positions=np.array(na + sb + ss),
                 cell=[a, a, c], pbc=True)
