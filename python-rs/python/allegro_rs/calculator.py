"""The ASE calculator: ASE's Atoms in, the engine's energies, forces and stresses out."""
import os

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_numbers, chemical_symbols
from ase.stress import full_3x3_to_voigt_6_stress

from ._native import InputError, Model


class AllegroCalculator(Calculator):
    """ASE calculator for a deployed Allegro/NequIP model (``.nequip.pth``), torch-free.

    Parameters
    ----------
    model : str or os.PathLike
        The deployed model file (``nequip-compile --mode torchscript``).
    backend : {"auto", "native"}
        The engine; "auto" takes the native Rust engine whenever it implements the model.
    threads : int
        Threads of the native engine for one evaluation (at most the cores you give the job).
    type_map : dict, optional
        Chemical symbol -> model type name, for models whose type names are not chemical
        symbols (default: the symbols are the type names).

    Properties (ASE units): ``energy`` and ``free_energy`` (eV), ``energies`` (per atom, eV),
    ``forces`` (eV/A), ``stress`` (eV/A^3, ASE's sign: positive under tension, Voigt order
    xx yy zz yz xz xy) and ``stresses`` (per atom, eV/A^3, from the per-atom virials; they sum
    to ``stress``). Stresses need a cell of non-zero volume. Periodic, open and mixed
    boundaries are all taken from ``atoms.pbc``; cells thinner than the cutoff are fine (atoms
    see their own images). Results are kept until the atoms change (ASE's ``check_state``).
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress", "stresses"]

    def __init__(self, model, backend="auto", threads=1, type_map=None, **kwargs):
        super().__init__(**kwargs)
        self.model = Model(os.fspath(model), backend=backend, threads=int(threads))
        names = self.model.type_names
        type_map = dict(type_map) if type_map is not None else {s: s for s in names}
        unknown = sorted(set(type_map.values()) - set(names))
        if unknown:
            raise InputError(
                f"type_map names {', '.join(unknown)}, which the model lacks "
                f"(its types: {', '.join(names)})")
        # atomic number -> model type index (-1: not in the model), one lookup per call
        self._by_number = np.full(len(chemical_symbols), -1, dtype=np.int32)
        for symbol, name in type_map.items():
            if symbol not in atomic_numbers:
                raise InputError(f"type_map key {symbol!r} is not a chemical symbol")
            self._by_number[atomic_numbers[symbol]] = names.index(name)
        self._known = sorted(type_map)

    def _types(self, numbers):
        types = self._by_number[numbers]
        if (types < 0).any():
            first = int(np.argmax(types < 0))
            raise InputError(
                f"element {chemical_symbols[numbers[first]]} (atom {first}) is not in the model "
                f"{os.path.basename(self.model.path)}, which knows {', '.join(self._known)}")
        return types

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        types = self._types(atoms.numbers)
        positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
        cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
        pbc = [bool(p) for p in atoms.pbc]
        per_atom = "stresses" in properties
        energy, energies, forces, virial, atom_virials = self.model.compute(
            positions, types, cell, pbc, atom_virials=per_atom)
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": energies,
            "forces": forces,
        }
        # Stress needs a volume: a cell of three independent vectors (ASE's rank 3).
        if atoms.cell.rank == 3:
            volume = atoms.get_volume()
            self.results["stress"] = full_3x3_to_voigt_6_stress(-virial / volume)
            if atom_virials is not None:
                self.results["stresses"] = full_3x3_to_voigt_6_stress(-atom_virials / volume)
