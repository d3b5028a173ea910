"""Writes na3sbs4_cubic_4x4x4.data (1,024 atoms, cubic I-43m, a = 7.15 A) next to this file.
The structure builder proper (`allegro-build`, W doping, vacancies, SQS) comes with issue 4."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
import structures  # noqa: E402

structures.write_lammps_data(structures.cubic((4, 4, 4)), os.path.join(HERE, "na3sbs4_cubic_4x4x4.data"))
