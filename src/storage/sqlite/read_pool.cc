#include "storage/sqlite/read_pool.h"

namespace kiln::storage::sqlite {

StatusOr<std::unique_ptr<ReadPool>> ReadPool::Open(const std::string& path, int size, int busy_timeout_ms) {
  std::unique_ptr<ReadPool> pool(new ReadPool());
  if (size < 1) size = 1;
  for (int i = 0; i < size; ++i) {
    KILN_ASSIGN_OR_RETURN(auto conn, SqliteConn::Open(path, /*query_only=*/true, /*create=*/false, busy_timeout_ms));
    pool->free_.push_back(std::move(conn));
  }
  return pool;
}

ReadPool::Lease ReadPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !free_.empty(); });
  auto conn = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(conn));
}

void ReadPool::Release(std::unique_ptr<SqliteConn> conn) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace kiln::storage::sqlite
