# An installed LAMMPS, through its own CMake package (-DLAMMPS_DIR=<prefix>/lib/cmake/LAMMPS):
# its headers, integer sizes (LAMMPS_SMALLBIG/BIGBIG/SMALLSMALL), MPI (or the serial stubs) and
# version. Defines the interface target allegro_lammps and ALLEGRO_LAMMPS_VERSION_ID / _ORIGIN /
# _LIBDIR.
# No MPI C++ bindings (libmpi_cxx): their constructors call MPI when the plugin is opened, before
# its check of the host's MPI could refuse (as LAMMPS itself builds).
set(MPI_CXX_SKIP_MPICXX TRUE)
find_package(LAMMPS CONFIG REQUIRED)
if(NOT TARGET LAMMPS::lammps)
  message(FATAL_ERROR "${LAMMPS_DIR} defines no LAMMPS::lammps target: was LAMMPS built with "
    "BUILD_SHARED_LIBS=ON? (a static LAMMPS cannot load plugins: compile the style in, docs/hpc.md)")
endif()
# LAMMPSConfigVersion says 20250204 for LAMMPS 4 Feb 2025 (some versions: 2025.2.4)
if(LAMMPS_VERSION MATCHES "^([0-9][0-9][0-9][0-9])\\.([0-9]+)\\.([0-9]+)")
  math(EXPR ALLEGRO_LAMMPS_VERSION_ID "${CMAKE_MATCH_1} * 10000 + ${CMAKE_MATCH_2} * 100 + ${CMAKE_MATCH_3}")
elseif(LAMMPS_VERSION MATCHES "^[0-9][0-9][0-9][0-9][01][0-9][0-3][0-9]$")
  set(ALLEGRO_LAMMPS_VERSION_ID "${LAMMPS_VERSION}")
else()
  message(FATAL_ERROR "cannot read the LAMMPS version '${LAMMPS_VERSION}' of ${LAMMPS_DIR}")
endif()
set(ALLEGRO_LAMMPS_ORIGIN "${LAMMPS_DIR}")

add_library(allegro_lammps INTERFACE)
target_link_libraries(allegro_lammps INTERFACE LAMMPS::lammps)
# Some LAMMPS versions export <prefix>/include while the headers are in <prefix>/include/lammps.
get_target_property(_incs LAMMPS::lammps INTERFACE_INCLUDE_DIRECTORIES)
foreach(_inc IN LISTS _incs)
  if(NOT EXISTS "${_inc}/pair.h" AND EXISTS "${_inc}/lammps/pair.h")
    target_include_directories(allegro_lammps INTERFACE "${_inc}/lammps")
  endif()
endforeach()

get_target_property(_lib LAMMPS::lammps LOCATION)
get_filename_component(ALLEGRO_LAMMPS_LIBDIR "${_lib}" DIRECTORY)
# The MPI that CMake found here must be the one liblammps runs with (MPICH's and Open MPI's
# handles differ): compare its mpi.h with the libmpi that liblammps needs.
if(TARGET MPI::MPI_CXX AND EXISTS "${_lib}")
  file(STRINGS "${_lib}" _needed REGEX "^libmpi[_a-z]*\\.so\\.[0-9]+$")
  set(_mpi_h "")
  foreach(_inc IN LISTS MPI_CXX_INCLUDE_DIRS)
    if(EXISTS "${_inc}/mpi.h")
      file(READ "${_inc}/mpi.h" _mpi_h)
      break()
    endif()
  endforeach()
  if((_needed MATCHES "libmpi\\.so\\.40" AND _mpi_h MATCHES "MPICH_VERSION")
     OR (_needed MATCHES "libmpi[_a-z]*\\.so\\.12" AND _mpi_h MATCHES "OPEN_MPI"))
    message(FATAL_ERROR "${_lib} runs with ${_needed}, but CMake found another MPI here "
      "(${MPI_CXX_INCLUDE_DIRS}): add -DMPI_CXX_COMPILER=<the mpicxx LAMMPS was built with>")
  endif()
endif()
