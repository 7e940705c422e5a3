# hiredis 1.x with hiredis_ssl (the Redis online store, src/storage/redis) as
# the static library kiln_hiredis. Debian's libhiredis-dev is 0.14, which has
# no TLS; scripts/setup.sh fetches hiredis's C sources from the PyPI `hiredis`
# sdist (sha256-pinned) into third_party/hiredis/; nothing of it is committed.
include_guard(GLOBAL)

set(KILN_HIREDIS_VERSION 1.5.0)
set(KILN_HIREDIS_DIR ${PROJECT_SOURCE_DIR}/third_party/hiredis)

if(NOT EXISTS ${KILN_HIREDIS_DIR}/hiredis/hiredis.h OR NOT EXISTS ${KILN_HIREDIS_DIR}/VERSION)
  message(FATAL_ERROR "hiredis ${KILN_HIREDIS_VERSION} not found in ${KILN_HIREDIS_DIR}: run scripts/setup.sh")
endif()
file(STRINGS ${KILN_HIREDIS_DIR}/VERSION _hiredis_fetched LIMIT_COUNT 1)
if(NOT _hiredis_fetched STREQUAL KILN_HIREDIS_VERSION)
  message(FATAL_ERROR "third_party/hiredis holds hiredis ${_hiredis_fetched}, kiln needs "
                      "${KILN_HIREDIS_VERSION}: run scripts/setup.sh")
endif()

enable_language(C)
if(CCACHE_PROGRAM AND NOT CMAKE_C_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

# Every .c but the test program: ssl.c refers to the async API, so async.c
# (and its dict.c) come along.
set(_hiredis_srcs alloc.c async.c dict.c hiredis.c net.c read.c sds.c sockcompat.c ssl.c)
list(TRANSFORM _hiredis_srcs PREPEND ${KILN_HIREDIS_DIR}/hiredis/)
add_library(kiln_hiredis STATIC ${_hiredis_srcs})
set_target_properties(kiln_hiredis PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
# Third-party code: our -Wall -Wextra -Werror are not its rules.
target_compile_options(kiln_hiredis PRIVATE -w)
# SYSTEM: <hiredis/hiredis.h> must not trip -Werror in our sources either.
target_include_directories(kiln_hiredis SYSTEM INTERFACE ${KILN_HIREDIS_DIR})
target_link_libraries(kiln_hiredis PUBLIC OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
