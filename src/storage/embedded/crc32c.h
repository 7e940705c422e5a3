// CRC-32C (Castagnoli), the checksum that frames the embedded online store's
// log records. Uses the SSE4.2 crc32 instruction when the CPU has it (several
// GB/s, so checksumming never limits the write path) and a table otherwise.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::storage::embedded {

// Extends `crc` (0 for a fresh checksum) over data[0, n).
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace kiln::storage::embedded
