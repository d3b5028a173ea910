"""Barrier of a Na vacancy hop in tetragonal Na3SbS4 by a climbing-image NEB on the native engine.

    python docs/examples/ase_neb.py [MODEL]      (default: models/nawsbs.nequip.pth)

One Na is removed; its nearest Na neighbour (3.6 A away in the perfect crystal) hops into the
vacancy. Both end points
are relaxed at fixed cell, the path starts from IDPP and is relaxed with FIRE.
"""
import sys

import numpy as np
from ase.mep import NEB
from ase.optimize import BFGS, FIRE

from allegro_rs import AllegroCalculator
from na3sbs4 import tetragonal_na3sbs4


def na_vacancy_neb(make_calculator, reps=(2, 2, 2), images=5, fmax=0.03):
    """make_calculator() gives a new ASE calculator (one per image). Returns the barrier (eV),
    the energies along the path and the hop length."""
    atoms = tetragonal_na3sbs4(reps=reps)
    na = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Na"]
    vacancy = na[0]
    d = atoms.get_distances(vacancy, na[1:], mic=True)
    hopper = na[1:][int(np.argmin(d))]
    # the hopper moves to the image of the vacant site nearest to it
    target = atoms.positions[hopper] - atoms.get_distance(vacancy, hopper, mic=True, vector=True)
    del atoms[vacancy]
    hopper -= hopper > vacancy

    def relaxed(a):
        a.calc = make_calculator()
        BFGS(a, logfile=None).run(fmax=fmax / 3, steps=300)
        return a

    initial = relaxed(atoms.copy())
    final = atoms.copy()
    final.positions[hopper] = target
    final = relaxed(final)
    path = [initial] + [initial.copy() for _ in range(images)] + [final]
    for image in path[1:-1]:
        image.calc = make_calculator()
    neb = NEB(path, climb=True, method="improvedtangent")
    neb.interpolate("idpp", mic=True)
    converged = FIRE(neb, logfile=None).run(fmax=fmax, steps=600)
    energies = np.array([image.get_potential_energy() for image in path])
    return {
        "converged": bool(converged),
        "barrier": float(energies.max() - energies[0]),  # eV
        "energies": energies - energies[0],  # eV, along the path
        "hop_length": float(np.linalg.norm(final.positions[hopper] - initial.positions[hopper])),
    }


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "models/nawsbs.nequip.pth"
    r = na_vacancy_neb(lambda: AllegroCalculator(model))
    print(f"Na vacancy hop ({r['hop_length']:.2f} A): barrier {r['barrier']:.3f} eV "
          f"(converged: {r['converged']})")
    print("path energies (eV):", np.array2string(r["energies"], precision=3))
