#!/usr/bin/env python
"""LAMMPS data files for the physical checks (types 1 Na, 2 Sb, 3 W, 4 S; units metal).
usage: make_check_data.py OUTDIR"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ase.io import write
from structures import cubic_cell, tetragonal_cell, dope

ORDER = ["Na", "Sb", "W", "S"]
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def w(at, name):
    write(os.path.join(out, name), at, format="lammps-data", specorder=ORDER, masses=True,
          atom_style="atomic", units="metal")
    print(name, len(at), at.get_chemical_formula())


w(cubic_cell().repeat((2, 2, 2)), "cub_2x2x2.data")
w(tetragonal_cell().repeat((2, 2, 2)), "tet_2x2x2.data")
w(tetragonal_cell().repeat((4, 4, 4)), "tet_4x4x4.data")
# Na2.9W0.1Sb0.9S4-like: 13 of 128 Sb -> W (10.2 %), 13 random Na vacancies, seeded
rng = np.random.default_rng(4242)
w(dope(cubic_cell().repeat((4, 4, 4)), 13, rng, clustered=False), "w10_4x4x4.data")
