#include "core/release_later.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace kiln {
namespace {

// Records which thread runs its destructor.
struct Witness {
  std::promise<std::thread::id>* destroyed_on;
  ~Witness() { destroyed_on->set_value(std::this_thread::get_id()); }
};

TEST(ReleaseLaterTest, TheLastReferenceIsDroppedOnAnotherThread) {
  std::promise<std::thread::id> destroyed_on;
  auto future = destroyed_on.get_future();
  ReleaseLater(std::make_shared<Witness>(&destroyed_on));
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(ReleaseLaterTest, NullIsIgnored) { ReleaseLater(nullptr); }

}  // namespace
}  // namespace kiln
