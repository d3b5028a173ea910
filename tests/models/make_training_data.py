#!/usr/bin/env python
"""Generate a tiny labelled training set of Na3SbS4-like cells (with some Sb -> W).

Labels come from a cheap analytic pairwise Morse potential (shifted-force, smooth at
the cutoff) with per-element-pair parameters, implemented here as an ASE calculator.
Energy, forces and stress are exactly consistent (stress in the ASE convention:
stress = (1/V) dE/d(strain), Voigt order xx yy zz yz xz xy).

Usage: make_training_data.py OUT.xyz   (deterministic, fixed seed)
"""
import sys

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.neighborlist import neighbor_list

SEED = 20240611
A0 = 7.15  # cubic I-43m conventional cell of Na3SbS4
X_S = 0.187

# Morse parameters per unordered element pair: (D [eV], alpha [1/A], r0 [A])
MORSE = {
    ("Sb", "S"): (2.0, 1.6, 2.33),
    ("W", "S"): (2.6, 1.7, 2.20),
    ("Na", "S"): (0.6, 1.3, 2.85),
    ("Na", "Na"): (0.10, 1.2, 3.70),
    ("Na", "Sb"): (0.10, 1.2, 3.70),
    ("Na", "W"): (0.10, 1.2, 3.70),
    ("S", "S"): (0.15, 1.4, 3.60),
    ("Sb", "Sb"): (0.05, 1.0, 4.50),
    ("Sb", "W"): (0.05, 1.0, 4.50),
    ("W", "W"): (0.05, 1.0, 4.50),
}
RC = 5.0  # potential cutoff [A]


def _params(a, b):
    return MORSE[(a, b)] if (a, b) in MORSE else MORSE[(b, a)]


def _morse(r, D, al, r0):
    e = np.exp(-al * (r - r0))
    phi = D * (e * e - 2.0 * e)
    dphi = D * (-2.0 * al * e * e + 2.0 * al * e)
    return phi, dphi


class PairMorse(Calculator):
    """Shifted-force Morse pair potential with per-element-pair parameters."""

    implemented_properties = ["energy", "energies", "forces", "stress", "free_energy"]

    def calculate(self, atoms=None, properties=["energy"], system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        atoms = self.atoms
        n = len(atoms)
        sym = atoms.get_chemical_symbols()
        i, j, d, D = neighbor_list("ijdD", atoms, RC)
        pars = np.array([_params(sym[a], sym[b]) for a, b in zip(i, j)]).reshape(-1, 3)
        phi, dphi = _morse(d, pars[:, 0], pars[:, 1], pars[:, 2])
        phic, dphic = _morse(RC, pars[:, 0], pars[:, 1], pars[:, 2])
        # shifted force: value and slope vanish at RC
        e_pair = phi - phic - (d - RC) * dphic
        de_pair = dphi - dphic
        # each unordered pair appears twice (i->j and j->i): weight 1/2
        energies = np.zeros(n)
        np.add.at(energies, i, 0.5 * e_pair)
        # dE/dD_ij for ordered pair (D = r_j - r_i), with weight 1/2
        g = (0.5 * de_pair / d)[:, None] * D
        forces = np.zeros((n, 3))
        np.add.at(forces, i, g)  # -dE/dr_i = +g
        np.add.at(forces, j, -g)  # -dE/dr_j = -g
        # stress = (1/V) sum_pairs dE/dD_a D_b
        vol = atoms.get_volume()
        s = (g[:, :, None] * D[:, None, :]).sum(0) / vol
        self.results["energies"] = energies
        self.results["energy"] = energies.sum()
        self.results["free_energy"] = energies.sum()
        self.results["forces"] = forces
        self.results["stress"] = s.ravel()[[0, 4, 8, 5, 2, 1]]


def na3sbs4_cell(a=A0, x=X_S):
    """Conventional I-43m cell: 6 Na (6b), 2 Sb (2a), 8 S (8c)."""
    frac, sym = [], []
    for c in ([0, 0, 0], [0.5, 0.5, 0.5]):
        frac.append(c)
        sym.append("Sb")
    for c in ([0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]):
        frac.append(c)
        sym.append("Na")
    for t in ([0, 0, 0], [0.5, 0.5, 0.5]):
        for s in ([x, x, x], [-x, -x, x], [-x, x, -x], [x, -x, -x]):
            frac.append(np.mod(np.array(s) + t, 1.0))
            sym.append("S")
    return Atoms(sym, scaled_positions=frac, cell=np.eye(3) * a, pbc=True)


def main(out):
    rng = np.random.default_rng(SEED)
    frames = []
    n_frames = 16
    for k in range(n_frames):
        at = na3sbs4_cell()
        if k % 4 == 3:
            at = at.repeat((2, 1, 1))  # a few 32-atom cells
        sym = at.get_chemical_symbols()
        sb = [q for q, s in enumerate(sym) if s == "Sb"]
        # replace 0, 1 or (for supercells) 2 Sb by W
        nw = k % 3 if len(sb) > 2 else min(k % 3, 1)
        for q in rng.choice(sb, size=nw, replace=False):
            sym[q] = "W"
        at.set_chemical_symbols(sym)
        if k % 2 == 1:  # slight random strain (symmetric, up to ~2%)
            eps = rng.uniform(-0.02, 0.02, size=(3, 3))
            eps = 0.5 * (eps + eps.T)
            at.set_cell(at.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
        at.positions += rng.normal(scale=0.1, size=at.positions.shape)
        at.wrap()
        calc = PairMorse()
        at.calc = calc
        e = at.get_potential_energy()
        f = at.get_forces()
        s = at.get_stress()
        at.calc = SinglePointCalculator(at, energy=e, forces=f, stress=s)
        frames.append(at)
    write(out, frames, format="extxyz")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "train_data.xyz")
