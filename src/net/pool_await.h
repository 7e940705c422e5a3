// RunOnPool: run a blocking function on the WorkerPool from a coroutine and
// resume on the coroutine's executor with its result. Yields nullopt when the
// pool refused the job (queue full), so the caller can answer 503.
//
// `fn` must own everything it touches (capture by value or shared_ptr): the
// worker may still hold it while the awaiting coroutine is torn down.
//
// GCC 12 destroys non-trivial temporaries of a co_await full-expression
// twice (seen here as a use-after-free under ASan): callers must pass a named
// lambda with std::move, never a lambda temporary. This function is also
// deliberately not a coroutine itself and returns the operation directly.
#pragma once

#include <utility>  // before Asio's coroutine headers (Boost 1.74 + GCC 12)

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/worker_pool.h"
#include "net/router.h"

namespace kiln::net {

template <typename Fn>
boost::asio::awaitable<std::optional<std::invoke_result_t<Fn&>>> RunOnPool(WorkerPool& pool, Fn fn) {
  using Result = std::invoke_result_t<Fn&>;
  namespace asio = boost::asio;
  auto shared_fn = std::make_shared<Fn>(std::move(fn));
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<Result>)>(
      [&pool, shared_fn](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        auto shared_handler = std::make_shared<decltype(handler)>(std::move(handler));
        bool accepted = pool.TrySubmit([shared_handler, shared_fn, executor]() {
          std::optional<Result> result(std::in_place, (*shared_fn)());
          asio::post(executor, [shared_handler, result = std::move(result)]() mutable {
            (*shared_handler)(std::move(result));
          });
        });
        if (!accepted) {
          asio::post(executor, [shared_handler]() mutable { (*shared_handler)(std::optional<Result>()); });
        }
      },
      asio::use_awaitable);
}

namespace internal {

// The one completion of an awaited deferred response. Fires the coroutine's
// handler at most once; if nobody answered when the last reference goes, it
// answers with the fallback so the connection never hangs.
template <typename Handler, typename Executor>
class DeferredCompletion {
 public:
  DeferredCompletion(Handler handler, Executor executor, HttpResponse fallback)
      : handler_(std::make_shared<Handler>(std::move(handler))),
        executor_(std::move(executor)),
        fallback_(std::move(fallback)) {}
  DeferredCompletion(const DeferredCompletion&) = delete;
  DeferredCompletion& operator=(const DeferredCompletion&) = delete;
  ~DeferredCompletion() { Fire(std::optional<HttpResponse>(std::move(fallback_))); }

  void Fire(std::optional<HttpResponse> response) {
    if (fired_.exchange(true)) return;
    auto h = handler_;
    boost::asio::post(executor_, [h, r = std::move(response)]() mutable { (*h)(std::move(r)); });
  }

 private:
  std::shared_ptr<Handler> handler_;
  Executor executor_;
  HttpResponse fallback_;
  std::atomic<bool> fired_{false};
};

}  // namespace internal

// Runs `start(responder)` on the pool and resumes when the responder is
// called (from any thread). Yields nullopt when the pool refused the job.
// Same GCC 12 rule as RunOnPool: pass a named `start` with std::move.
template <typename Start>
boost::asio::awaitable<std::optional<HttpResponse>> AwaitDeferred(WorkerPool& pool, Start start,
                                                                 HttpResponse fallback) {
  namespace asio = boost::asio;
  auto shared_start = std::make_shared<Start>(std::move(start));
  auto shared_fallback = std::make_shared<HttpResponse>(std::move(fallback));
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<HttpResponse>)>(
      [&pool, shared_start, shared_fallback](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        using State = internal::DeferredCompletion<decltype(handler), decltype(executor)>;
        auto state = std::make_shared<State>(std::move(handler), executor, std::move(*shared_fallback));
        bool accepted = pool.TrySubmit([state, shared_start]() {
          (*shared_start)(Responder([state](HttpResponse r) { state->Fire(std::optional<HttpResponse>(std::move(r))); }));
        });
        if (!accepted) state->Fire(std::nullopt);
      },
      asio::use_awaitable);
}

// The same, but `start` runs here, on the awaiting coroutine's own thread
// (an I/O thread, for routes whose probe chose it); the response still
// resumes the coroutine through its executor, so `start` may answer at once
// or later from another thread.
template <typename Start>
boost::asio::awaitable<std::optional<HttpResponse>> AwaitDeferredHere(Start start, HttpResponse fallback) {
  namespace asio = boost::asio;
  auto shared_start = std::make_shared<Start>(std::move(start));
  auto shared_fallback = std::make_shared<HttpResponse>(std::move(fallback));
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<HttpResponse>)>(
      [shared_start, shared_fallback](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        using State = internal::DeferredCompletion<decltype(handler), decltype(executor)>;
        auto state = std::make_shared<State>(std::move(handler), executor, std::move(*shared_fallback));
        (*shared_start)(Responder([state](HttpResponse r) { state->Fire(std::optional<HttpResponse>(std::move(r))); }));
      },
      asio::use_awaitable);
}

}  // namespace kiln::net
