# pair_style allegro compiled into LAMMPS, for builds without the PLUGIN package or static ones.
# Passed to LAMMPS' own CMake, no file of LAMMPS edited (docs/hpc.md):
#   cmake -S <lammps>/cmake -B <build> -D CMAKE_PROJECT_lammps_INCLUDE=<allegro-rs>/cmake/allegro-in-lammps.cmake ...
# CMake includes this file right after LAMMPS' project() call. It registers the style header the
# way LAMMPS' RegisterStyles does (the global PAIR list that becomes style_pair.h) and, once the
# lammps target exists (a deferred call), adds the source and links the Rust library.
cmake_minimum_required(VERSION 3.21)  # cmake_language(DEFER), file(COPY_FILE)

get_filename_component(_allegro_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
# -D ALLEGRO_LIBRARY=... picks another build; the default is not cached, so that a build folder
# configured again from another clone links that clone's library
if(NOT ALLEGRO_LIBRARY)
  set(ALLEGRO_LIBRARY "${_allegro_root}/target/release/liballegro.a")
endif()
if(NOT EXISTS "${ALLEGRO_LIBRARY}")
  message(FATAL_ERROR "ALLEGRO_LIBRARY '${ALLEGRO_LIBRARY}' not found: run cargo build --release "
    "in ${_allegro_root} first")
endif()

# style_pair.h includes headers by file name from the style folder: forward them from there, so
# that no include path (and no compile line) of LAMMPS' own files changes.
set(_allegro_styles "${CMAKE_BINARY_DIR}/styles")
file(MAKE_DIRECTORY "${_allegro_styles}")
foreach(_h pair_allegro.h:src allegro.h:include)
  string(REPLACE ":" ";" _h "${_h}")
  list(GET _h 0 _name)
  list(GET _h 1 _dir)
  file(WRITE "${_allegro_styles}/${_name}.tmp" "#include \"${_allegro_root}/cpp/${_dir}/${_name}\"\n")
  file(COPY_FILE "${_allegro_styles}/${_name}.tmp" "${_allegro_styles}/${_name}" ONLY_IF_DIFFERENT)
endforeach()
set_property(GLOBAL APPEND PROPERTY PAIR "${_allegro_styles}/pair_allegro.h")

function(_allegro_add_to_lammps)
  if(NOT TARGET lammps)
    message(FATAL_ERROR "allegro-in-lammps.cmake: this LAMMPS CMake defines no 'lammps' target")
  endif()
  target_sources(lammps PRIVATE "${_allegro_root}/cpp/src/pair_allegro.cpp")
  # the Rust library's symbols stay inside liblammps / lmp
  target_link_libraries(lammps PRIVATE "${ALLEGRO_LIBRARY}" pthread dl m)
  target_link_options(lammps PRIVATE "-Wl,--exclude-libs,liballegro.a")
  message(STATUS "pair_style allegro compiled in (${ALLEGRO_LIBRARY})")
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _allegro_add_to_lammps)
