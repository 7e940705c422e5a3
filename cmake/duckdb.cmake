# DuckDB (the offline engine's SQL engine, src/storage/duckdb) as the imported
# shared library DuckDB::duckdb. scripts/setup.sh fetches the pinned release
# into third_party/duckdb/; nothing of it is committed.
#
# The kiln binary gets the rpath $ORIGIN, and libduckdb.so is copied
# beside build/<preset>/kiln, so the binary and the .so ship (and run) as a pair
# from any directory. The build-tree rpath CMake adds for the imported library
# keeps the test binaries in subfolders working.
include_guard(GLOBAL)

set(KILN_DUCKDB_VERSION 1.5.6)
set(KILN_DUCKDB_DIR ${PROJECT_SOURCE_DIR}/third_party/duckdb)
set(_duckdb_lib ${KILN_DUCKDB_DIR}/lib/libduckdb.so)
set(_duckdb_header ${KILN_DUCKDB_DIR}/include/duckdb.h)

if(NOT EXISTS ${_duckdb_lib} OR NOT EXISTS ${_duckdb_header} OR NOT EXISTS ${KILN_DUCKDB_DIR}/VERSION)
  message(FATAL_ERROR "DuckDB ${KILN_DUCKDB_VERSION} not found in ${KILN_DUCKDB_DIR} "
                      "(needs lib/libduckdb.so and include/duckdb.h): run scripts/setup.sh")
endif()
file(STRINGS ${KILN_DUCKDB_DIR}/VERSION _duckdb_fetched LIMIT_COUNT 1)
if(NOT _duckdb_fetched STREQUAL KILN_DUCKDB_VERSION)
  message(FATAL_ERROR "third_party/duckdb holds DuckDB ${_duckdb_fetched}, kiln needs "
                      "${KILN_DUCKDB_VERSION}: run scripts/setup.sh")
endif()

add_library(DuckDB::duckdb SHARED IMPORTED GLOBAL)
set_target_properties(DuckDB::duckdb PROPERTIES
  IMPORTED_LOCATION ${_duckdb_lib}
  IMPORTED_SONAME libduckdb.so)
# Directory-scoped (src/storage only), not usage requirements: duckdb.h stays
# inside storage/duckdb/*.cc, and the other modules' compile lines (and so
# their ccache entries) do not change. SYSTEM: third-party code must not trip
# -Werror. The engine checks at start that the loaded library is the one
# built against.
include_directories(SYSTEM ${KILN_DUCKDB_DIR}/include)
add_compile_definitions(KILN_DUCKDB_VERSION="v${KILN_DUCKDB_VERSION}")

# kiln (src/cli) is defined after this file runs, so its rpath is set once the
# top-level directory is done. BUILD_RPATH is the property CMake escapes
# $ORIGIN correctly in for every generator.
function(_kiln_duckdb_origin_rpath)
  if(TARGET kiln)
    set_property(TARGET kiln APPEND PROPERTY BUILD_RPATH "$ORIGIN")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _kiln_duckdb_origin_rpath)

# configure_file re-copies (and re-runs configure) when setup fetches a new .so.
configure_file(${_duckdb_lib} ${CMAKE_BINARY_DIR}/libduckdb.so COPYONLY)
