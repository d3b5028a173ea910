"""allegro_rs: deployed Allegro/NequIP models (.nequip.pth) in Python without torch.

    from allegro_rs import AllegroCalculator
    atoms.calc = AllegroCalculator("models/nawsbs.nequip.pth")
    atoms.get_potential_energy()   # eV
    atoms.get_forces()             # eV/A
    atoms.get_stress()             # eV/A^3, ASE's sign and Voigt order

The engine is the Rust library of allegro-rs (the same one pair_style allegro runs in LAMMPS);
`Model` is its direct interface, `AllegroCalculator` the ASE calculator on top of it.
"""
from ._native import AllegroError, InputError, Model, ModelError, version
from .calculator import AllegroCalculator

__all__ = ["AllegroCalculator", "Model", "AllegroError", "InputError", "ModelError", "version"]
__version__ = version()
