# A LAMMPS build folder and its source tree, not installed (-DLAMMPS_SOURCE_DIR=<tree>
# -DLAMMPS_BUILD_DIR=<build folder>): integer sizes, MPI compiler and library name are read from
# that build's CMakeCache.txt, the version from src/version.h. Defines the interface target
# allegro_lammps and ALLEGRO_LAMMPS_VERSION_ID / _ORIGIN / _LIBDIR.
if(NOT LAMMPS_SOURCE_DIR OR NOT LAMMPS_BUILD_DIR)
  message(FATAL_ERROR "a LAMMPS build tree needs both -DLAMMPS_SOURCE_DIR and -DLAMMPS_BUILD_DIR")
endif()
set(_src "${LAMMPS_SOURCE_DIR}/src")
if(NOT EXISTS "${_src}/version.h" OR NOT EXISTS "${LAMMPS_BUILD_DIR}/CMakeCache.txt")
  message(FATAL_ERROR "expected ${_src}/version.h and ${LAMMPS_BUILD_DIR}/CMakeCache.txt (a LAMMPS "
    "tree configured with cmake -S <tree>/cmake -B <build folder>)")
endif()
load_cache("${LAMMPS_BUILD_DIR}" READ_WITH_PREFIX LMP_
  BUILD_MPI BUILD_SHARED_LIBS LAMMPS_SIZES LAMMPS_MACHINE MPI_CXX_COMPILER)
if(NOT LMP_BUILD_SHARED_LIBS)
  message(FATAL_ERROR "${LAMMPS_BUILD_DIR} builds a static LAMMPS, which cannot load plugins: "
    "compile the style in instead (docs/hpc.md)")
endif()

file(STRINGS "${_src}/version.h" _line REGEX "define LAMMPS_VERSION ")
string(REGEX MATCH "\"([0-9]+) ([A-Za-z]+) ([0-9]+)\"" _ "${_line}")
set(_months x Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)
list(FIND _months "${CMAKE_MATCH_2}" _m)
math(EXPR ALLEGRO_LAMMPS_VERSION_ID "${CMAKE_MATCH_3} * 10000 + ${_m} * 100 + ${CMAKE_MATCH_1}")
set(ALLEGRO_LAMMPS_ORIGIN "${LAMMPS_BUILD_DIR}")
set(ALLEGRO_LAMMPS_LIBDIR "${LAMMPS_BUILD_DIR}")

add_library(allegro_lammps INTERFACE)
string(TOUPPER "${LMP_LAMMPS_SIZES}" _sizes)
target_include_directories(allegro_lammps INTERFACE "${_src}")
target_compile_definitions(allegro_lammps INTERFACE "LAMMPS_${_sizes}")
target_link_libraries(allegro_lammps INTERFACE
  "${LAMMPS_BUILD_DIR}/liblammps${LMP_LAMMPS_MACHINE}${CMAKE_SHARED_LIBRARY_SUFFIX}")
if(LMP_BUILD_MPI)
  set(MPI_CXX_COMPILER "${LMP_MPI_CXX_COMPILER}" CACHE FILEPATH "the mpicxx LAMMPS was built with")
  set(MPI_CXX_SKIP_MPICXX TRUE)
  find_package(MPI REQUIRED COMPONENTS CXX)
  target_link_libraries(allegro_lammps INTERFACE MPI::MPI_CXX)
else()
  target_include_directories(allegro_lammps INTERFACE "${_src}/STUBS")  # liblammps holds the stubs
endif()
