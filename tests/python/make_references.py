"""Writes nequip's own evaluation of every test model on every test structure to a JSON file,
for the Rust library tests (tests/nequip_reference.rs).

    python tests/python/make_references.py OUT.json MODEL...
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models"))

import structures  # noqa: E402
from nequip_reference import evaluate  # noqa: E402


def main(out, models):
    cases = []
    for model in models:
        for name, atoms in structures.all_structures().items():
            ref = evaluate(model, atoms)
            cases.append({
                "model": os.path.abspath(model),
                "structure": name,
                "cell": atoms.cell[:].tolist(),
                "positions": atoms.get_positions().tolist(),
                "symbols": atoms.get_chemical_symbols(),
                "energy": ref["energy"],
                "atom_energy": ref["energies"].tolist(),
                "forces": ref["forces"].tolist(),
                "virial": ref["virial"].tolist(),
            })
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cases, f)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
