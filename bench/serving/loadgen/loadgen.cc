// loadgen: a small HTTP/1.1 load generator for bench/serving (see bench/serving/README.md).
//
// N keep-alive connections to one URL, each with at most one request in flight (no pipelining),
// POSTing the same body (Content-Type: application/json; GET without --body). One epoll loop per
// thread (one thread by default), responses parsed properly (status line, Content-Length or
// chunked), every status counted, every latency sample kept (exact percentiles).
//
//   closed loop (--rate 0): every connection sends its next request as soon as the previous
//     response is complete; latency = write of the request -> last byte of the response.
//   open loop (--rate R): R requests/s in total; connection i of N sends at
//     t0 + (i + k*N) / R, k = 0, 1, ... (each connection on its own schedule, staggered). When a
//     send is due while the connection still waits for its previous response, it is sent as soon
//     as that response arrives, but its latency still counts from the scheduled time (like wrk2:
//     coordinated omission is not hidden). Scheduled sends of the measured window that never
//     went out (the server fell behind by more than the drain allows) are reported as "unsent".
//
// After --warmup seconds (same load, not recorded) a --duration window is measured: a request is
// recorded when its start (scheduled time in the open loop, write time in the closed loop) falls
// inside the window. At the end of the window the closed loop starts nothing new; the open loop
// still sends requests scheduled inside the window that are queued behind a slow response, for at
// most --drain s (default 1); in-flight requests are awaited (at most --timeout) and recorded. Output: one JSON line on stdout (prefixed "WRKJSON " with --wrkjson, so
// bench/tracking/driver.py's `wrk` subcommand parses it like the wrk Lua hook's line).
//
// Bounded: connecting (initial and reconnects) gives up after --connect-timeout s -> exit 2; a
// request without a complete response after --timeout s counts as a timeout (the connection is
// closed and reopened); any transport error or timeout in the measured window -> exit 3 after the
// JSON line. Bad usage -> exit 64.
//
// Build: g++ -O2 -std=c++20 -pthread -o loadgen loadgen.cc
#include <utility>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(int code, const std::string& msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

struct Options {
  std::string url, host = "127.0.0.1", port = "80", path = "/", body_file;
  int connections = 32;
  int threads = 1;
  double duration = 10, warmup = 2, rate = 0, timeout = 10, connect_timeout = 5, drain = 1;
  bool wrkjson = false;
};

void usage() {
  std::fprintf(stderr,
               "usage: loadgen --url http://HOST:PORT/PATH [--body FILE] [--connections 32] [--threads 1]\n"
               "               [--duration 10] [--warmup 2] [--rate 0] [--timeout 10] [--connect-timeout 5]\n"
               "               [--drain 1] [--wrkjson]\n"
               "  --rate 0: closed loop; R > 0: open loop, R requests/s in total over all connections,\n"
               "  latency measured from each request's scheduled send time.\n");
}

Options parse_args(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) { usage(); die(64, std::string("missing value for ") + argv[i]); }
    return argv[++i];
  };
  auto num = [&](const std::string& name, const std::string& v) -> double {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !std::isfinite(d) || d < 0) die(64, "bad value for " + name + ": " + v);
    return d;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--url") o.url = need(i);
    else if (a == "--body") o.body_file = need(i);
    else if (a == "--connections" || a == "-c") o.connections = int(num(a, need(i)));
    else if (a == "--threads" || a == "-t") o.threads = int(num(a, need(i)));
    else if (a == "--duration" || a == "-d") o.duration = num(a, need(i));
    else if (a == "--warmup") o.warmup = num(a, need(i));
    else if (a == "--rate" || a == "-R") o.rate = num(a, need(i));
    else if (a == "--timeout") o.timeout = num(a, need(i));
    else if (a == "--connect-timeout") o.connect_timeout = num(a, need(i));
    else if (a == "--drain") o.drain = num(a, need(i));
    else if (a == "--wrkjson") o.wrkjson = true;
    else if (a == "-h" || a == "--help") { usage(); std::exit(0); }
    else { usage(); die(64, "unknown argument: " + a); }
  }
  if (o.url.empty()) { usage(); die(64, "--url is required"); }
  std::string_view u = o.url;
  if (u.substr(0, 7) != "http://") die(64, "only http:// URLs are supported: " + o.url);
  u.remove_prefix(7);
  auto slash = u.find('/');
  std::string_view hp = u.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  auto colon = hp.rfind(':');
  if (colon != std::string_view::npos) {
    o.host = std::string(hp.substr(0, colon));
    o.port = std::string(hp.substr(colon + 1));
  } else {
    o.host = std::string(hp);
  }
  if (o.host.empty()) die(64, "no host in --url " + o.url);
  if (o.connections < 1) die(64, "--connections must be >= 1");
  if (o.threads < 1) o.threads = 1;
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.duration <= 0) die(64, "--duration must be > 0");
  if (o.timeout <= 0 || o.connect_timeout <= 0) die(64, "timeouts must be > 0");
  return o;
}

// ---------------------------------------------------------------------------- HTTP parsing
bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Chunked body starting at p: bytes consumed up to and including the final CRLF, 0 if
// incomplete, -1 if malformed.
long parse_chunked(const char* p, size_t n) {
  size_t pos = 0;
  for (;;) {
    const char* lf = static_cast<const char*>(std::memchr(p + pos, '\n', n - pos));
    if (!lf) return n - pos > 1024 ? -1 : 0;
    size_t line_end = lf - p;
    char* end = nullptr;
    unsigned long long sz = std::strtoull(p + pos, &end, 16);
    if (end == p + pos) return -1;
    pos = line_end + 1;
    if (sz == 0) {  // trailers until an empty line
      for (;;) {
        const char* lf2 = static_cast<const char*>(std::memchr(p + pos, '\n', n - pos));
        if (!lf2) return 0;
        size_t len = lf2 - (p + pos);
        pos = lf2 - p + 1;
        if (len == 0 || (len == 1 && p[pos - 2] == '\r')) return long(pos);
      }
    }
    if (n - pos < sz + 2) return 0;
    pos += sz;
    if (p[pos] == '\r') ++pos;
    if (pos >= n) return 0;
    if (p[pos] != '\n') return -1;
    ++pos;
  }
}

struct Parsed {
  long consumed = 0;  // 0: incomplete; -1: malformed
  int status = 0;
  bool close = false;
};

Parsed parse_response(const std::string& buf) {
  Parsed r;
  size_t hend = buf.find("\r\n\r\n");
  if (hend == std::string::npos) {
    if (buf.size() > 65536) r.consumed = -1;
    return r;
  }
  std::string_view head(buf.data(), hend);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    r.consumed = -1;
    return r;
  }
  int st = 0;
  for (int i = 9; i < 12; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9') { r.consumed = -1; return r; }
    st = st * 10 + (c - '0');
  }
  r.status = st;
  bool http10 = status_line[7] == '0';
  long long clen = -1;
  bool chunked = false, keep_alive = false;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    size_t c = line.find(':');
    if (c == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, c)), value = trim(line.substr(c + 1));
    if (ieq(name, "content-length")) {
      char* end = nullptr;
      std::string v(value);
      clen = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || clen < 0) { r.consumed = -1; return r; }
    } else if (ieq(name, "transfer-encoding")) {
      chunked = value.find("chunked") != std::string_view::npos;
    } else if (ieq(name, "connection")) {
      if (ieq(value, "close")) r.close = true;
      if (ieq(value, "keep-alive")) keep_alive = true;
    }
  }
  if (http10 && !keep_alive) r.close = true;
  size_t body = hend + 4;
  if (chunked) {
    long c = parse_chunked(buf.data() + body, buf.size() - body);
    r.consumed = c < 0 ? -1 : (c == 0 ? 0 : long(body) + c);
  } else if (clen >= 0) {
    r.consumed = buf.size() >= body + size_t(clen) ? long(body + clen) : 0;
  } else if (st / 100 == 1 || st == 204 || st == 304) {
    r.consumed = long(body);
  } else {
    r.consumed = -1;  // body delimited by close: not supported (the servers send Content-Length)
  }
  return r;
}

// ---------------------------------------------------------------------------- sockets
sockaddr_storage g_addr;
socklen_t g_addrlen = 0;

void resolve(const Options& o) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res);
  if (rc != 0 || !res) die(2, "cannot resolve " + o.host + ":" + o.port + ": " + gai_strerror(rc));
  std::memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
  g_addrlen = res->ai_addrlen;
  freeaddrinfo(res);
}

// Non-blocking connect, bounded by timeout_s. Returns the fd (non-blocking, TCP_NODELAY) or dies.
int connect_one(const Options& o) {
  int fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die(2, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&g_addr), g_addrlen);
  if (rc != 0 && errno != EINPROGRESS)
    die(2, "connect to " + o.host + ":" + o.port + " failed: " + std::strerror(errno));
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int64_t deadline = now_ns() + int64_t(o.connect_timeout * 1e9);
    for (;;) {
      int64_t left_ms = (deadline - now_ns()) / 1000000;
      if (left_ms <= 0) die(2, "connect to " + o.host + ":" + o.port + " timed out after " +
                                   std::to_string(o.connect_timeout) + " s");
      int pr = poll(&p, 1, int(left_ms));
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) die(2, std::string("poll: ") + std::strerror(errno));
      if (pr > 0) break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) die(2, "connect to " + o.host + ":" + o.port + " failed: " + std::strerror(err));
  }
  return fd;
}

// ---------------------------------------------------------------------------- the run
struct Stats {
  std::vector<int64_t> lat;       // ns, from the latency start (scheduled or write time)
  std::vector<int64_t> service;   // ns, from the actual write (open loop only)
  std::vector<int64_t> send_lag;  // ns, actual write - scheduled time (open loop only)
  std::map<int, uint64_t> status;  // recorded responses per status code
  uint64_t bytes = 0;              // response bytes of recorded requests
  uint64_t err_read = 0, err_write = 0, err_timeout = 0;
  uint64_t warmup_requests = 0, warmup_errors = 0, late_sends = 0, unsent = 0, reconnects = 0;
};

enum class St { Idle, Sending, Waiting };

struct Conn {
  int fd = -1;
  int gidx = 0;
  St st = St::Idle;
  bool out_on = false;  // EPOLLOUT registered
  size_t wr_off = 0;
  int64_t base = 0;   // latency start
  int64_t sent = 0;   // time the request write started
  int64_t next_sched = 0;
  std::string rbuf;
};

struct Shared {
  Options opt;
  std::string request;
  int64_t t0 = 0, t_start = 0, t_end = 0;
  int64_t t_drain = 0;   // open loop: sends scheduled before t_end may still go out until then
  int64_t interval = 0;  // open loop: per-connection send interval (ns); 0 = closed loop
};

class Worker {
 public:
  Worker(const Shared& sh, std::vector<int> fds, std::vector<int> gidx) : sh_(sh) {
    conns_.resize(fds.size());
    for (size_t i = 0; i < fds.size(); ++i) {
      conns_[i].fd = fds[i];
      conns_[i].gidx = gidx[i];
    }
  }
  Stats stats;

  void run() {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep_ < 0 || tfd_ < 0) die(2, std::string("epoll/timerfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = UINT64_MAX;
    epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      c.next_sched = sh_.t0 + (sh_.interval ? sh_.interval * c.gidx / sh_.opt.connections : 0);
      add_fd(i);
    }
    const int64_t timeout_ns = int64_t(sh_.opt.timeout * 1e9);
    std::vector<epoll_event> evs(conns_.size() + 1);
    char rb[65536];
    for (;;) {
      int64_t now = now_ns();
      for (size_t i = 0; i < conns_.size(); ++i) maybe_send(i, now);
      // timeouts + what to wait for
      // after t_end only the backlog of the window (open loop, until t_drain) is still sent
      int64_t wake = INT64_MAX;
      bool inflight = false;
      for (size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        if (c.st == St::Idle) {
          if (may_send_later(c, now)) wake = std::min(wake, c.next_sched);
          continue;
        }
        if (now - c.sent >= timeout_ns) {
          fail(i, now, 't');
          if (may_send_later(c, now)) wake = std::min(wake, c.next_sched);
          continue;
        }
        inflight = true;
        wake = std::min(wake, c.sent + timeout_ns);
      }
      if (now >= sh_.t_end && !inflight) break;
      if (now < sh_.t_end) wake = std::min(wake, sh_.t_end);
      // something due already (a send just became due): poll without blocking, never spin blind
      int wait_ms = 0;
      if (wake > now) {
        arm(wake);
        wait_ms = -1;
      }
      int n = epoll_wait(ep_, evs.data(), int(evs.size()), wait_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        die(2, std::string("epoll_wait: ") + std::strerror(errno));
      }
      for (int k = 0; k < n; ++k) {
        if (evs[k].data.u64 == UINT64_MAX) {
          uint64_t x;
          [[maybe_unused]] ssize_t r = read(tfd_, &x, sizeof x);
          armed_ = 0;
          continue;
        }
        size_t i = evs[k].data.u64;
        Conn& c = conns_[i];
        if ((evs[k].events & EPOLLOUT) && c.st == St::Sending) write_more(i, now_ns());
        if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_some(i, rb, sizeof rb);
      }
    }
    // open loop: scheduled sends of the measured window that never went out
    if (sh_.interval) {
      for (auto& c : conns_) {
        int64_t s = std::max(c.next_sched, sh_.t_start);
        if (s < sh_.t_end) stats.unsent += uint64_t((sh_.t_end - s + sh_.interval - 1) / sh_.interval);
      }
    }
    for (auto& c : conns_) close(c.fd);
    close(tfd_);
    close(ep_);
  }

 private:
  const Shared& sh_;
  std::vector<Conn> conns_;
  int ep_ = -1, tfd_ = -1;
  int64_t armed_ = 0;

  void add_fd(size_t i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, conns_[i].fd, &ev) != 0)
      die(2, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  // EPOLLOUT is on only while a write is pending (switching costs a syscall: remember it).
  void want_out(size_t i, bool on) {
    Conn& c = conns_[i];
    if (c.out_on == on) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? uint32_t(EPOLLOUT) : 0u);
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.out_on = on;
  }
  void arm(int64_t when) {
    if (armed_ == when) return;
    itimerspec its{};
    its.it_value.tv_sec = when / 1000000000;
    its.it_value.tv_nsec = when % 1000000000;
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
    armed_ = when;
  }
  bool in_window(int64_t base) const { return base >= sh_.t_start && base < sh_.t_end; }

  bool may_send_later(const Conn& c, int64_t now) const {
    return sh_.interval && c.next_sched < sh_.t_end && now < sh_.t_drain;
  }

  // Closed loop: send while the window lasts. Open loop: send what is due, as long as it was
  // scheduled inside the window and the drain (t_drain) has not passed.
  void maybe_send(size_t i, int64_t now) {
    Conn& c = conns_[i];
    if (c.st != St::Idle) return;
    if (sh_.interval == 0) {
      if (now < sh_.t_end) start(i, now, now);
    } else if (c.next_sched <= now && may_send_later(c, now)) {
      int64_t s = c.next_sched;
      c.next_sched += sh_.interval;
      start(i, s, now);
    }
  }

  void start(size_t i, int64_t base, int64_t now) {
    Conn& c = conns_[i];
    c.base = base;
    c.sent = now;
    c.wr_off = 0;
    c.st = St::Sending;
    if (sh_.interval && in_window(base)) {
      stats.send_lag.push_back(now - base);
      if (now - base > 1000000) ++stats.late_sends;
    }
    write_more(i, now);
  }

  void write_more(size_t i, int64_t now) {
    Conn& c = conns_[i];
    const std::string& rq = sh_.request;
    while (c.wr_off < rq.size()) {
      ssize_t w = send(c.fd, rq.data() + c.wr_off, rq.size() - c.wr_off, MSG_NOSIGNAL);
      if (w > 0) { c.wr_off += size_t(w); continue; }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { want_out(i, true); return; }
      fail(i, now, 'w');
      return;
    }
    c.st = St::Waiting;
    want_out(i, false);
    if (!c.rbuf.empty()) on_data(i);  // the server answered before the request was fully written
  }

  void read_some(size_t i, char* rb, size_t cap) {
    Conn& c = conns_[i];
    for (;;) {
      ssize_t r = recv(c.fd, rb, cap, 0);
      if (r > 0) {
        if (c.st != St::Waiting && c.st != St::Sending) {  // bytes nobody asked for
          fail(i, now_ns(), 'r');
          return;
        }
        c.rbuf.append(rb, size_t(r));
        if (size_t(r) == cap) continue;
        break;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // EOF or error
      if (c.st == St::Idle && c.rbuf.empty()) {  // server closed an idle keep-alive connection
        reopen(i);
        ++stats.reconnects;
        maybe_send(i, now_ns());
      } else {
        fail(i, now_ns(), 'r');
      }
      return;
    }
    if (c.st == St::Waiting) on_data(i);  // (while still Sending: parsed once the write is done)
  }

  void on_data(size_t i) {
    Conn& c = conns_[i];
    Parsed p = parse_response(c.rbuf);
    if (p.consumed == 0) return;
    int64_t now = now_ns();
    if (p.consumed < 0 || size_t(p.consumed) != c.rbuf.size()) {  // malformed or extra bytes
      fail(i, now, 'r');
      return;
    }
    if (in_window(c.base)) {
      stats.lat.push_back(now - c.base);
      if (sh_.interval) stats.service.push_back(now - c.sent);
      ++stats.status[p.status];
      stats.bytes += c.rbuf.size();
    } else {
      ++stats.warmup_requests;
    }
    c.rbuf.clear();
    c.st = St::Idle;
    if (p.close) {
      reopen(i);
      ++stats.reconnects;
    }
    maybe_send(i, now);
  }

  void fail(size_t i, int64_t now, char kind) {
    Conn& c = conns_[i];
    if (in_window(c.base)) {
      if (kind == 't') ++stats.err_timeout;
      else if (kind == 'w') ++stats.err_write;
      else ++stats.err_read;
    } else {
      ++stats.warmup_errors;
    }
    reopen(i);
    c.st = St::Idle;
    (void)now;
  }

  void reopen(size_t i) {
    Conn& c = conns_[i];
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = connect_one(sh_.opt);
    c.rbuf.clear();
    c.st = St::Idle;
    c.out_on = false;
    add_fd(i);
  }
};

double pct_us(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = size_t(std::ceil(q * double(sorted.size())));
  if (rank < 1) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return double(sorted[rank - 1]) / 1000.0;
}

std::string dist_json(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  double mean = 0;
  for (int64_t x : v) mean += double(x);
  mean = v.empty() ? 0 : mean / double(v.size()) / 1000.0;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"min\":%.1f,\"mean\":%.1f}",
                pct_us(v, 0.50), pct_us(v, 0.90), pct_us(v, 0.99), pct_us(v, 0.999),
                v.empty() ? 0.0 : double(v.back()) / 1000.0, v.empty() ? 0.0 : double(v.front()) / 1000.0, mean);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') { o += '\\'; o += ch; }
    else if (static_cast<unsigned char>(ch) < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", ch); o += b; }
    else o += ch;
  }
  return o;
}

double tv_s(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Shared sh;
  sh.opt = parse_args(argc, argv);
  const Options& o = sh.opt;

  std::string body;
  bool post = !o.body_file.empty();
  if (post) {
    std::ifstream f(o.body_file, std::ios::binary);
    if (!f) die(64, "cannot read --body " + o.body_file);
    std::ostringstream ss;
    ss << f.rdbuf();
    body = ss.str();
  }
  std::string host_hdr = o.host + ":" + o.port;
  sh.request = std::string(post ? "POST " : "GET ") + o.path + " HTTP/1.1\r\nHost: " + host_hdr + "\r\n";
  if (post)
    sh.request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  sh.request += "\r\n" + body;

  resolve(o);
  std::vector<int> fds;
  for (int i = 0; i < o.connections; ++i) fds.push_back(connect_one(o));

  if (o.rate > 0) {
    sh.interval = int64_t(double(o.connections) * 1e9 / o.rate);
    if (sh.interval < 1) sh.interval = 1;
  }
  sh.t0 = now_ns() + 1000000;  // 1 ms to start the threads
  sh.t_start = sh.t0 + int64_t(o.warmup * 1e9);
  sh.t_end = sh.t_start + int64_t(o.duration * 1e9);
  sh.t_drain = sh.t_end + int64_t(o.drain * 1e9);

  std::vector<Worker*> workers;
  for (int t = 0; t < o.threads; ++t) {
    std::vector<int> f, g;
    for (int i = t; i < o.connections; i += o.threads) { f.push_back(fds[i]); g.push_back(i); }
    workers.push_back(new Worker(sh, f, g));
  }
  rusage ru0{}, ru1{}, ruall{};
  std::vector<std::thread> th;
  for (auto* w : workers) th.emplace_back([w] { w->run(); });
  // CPU of the whole process over the measured window (+ drain)
  timespec ts{time_t(sh.t_start / 1000000000), long(sh.t_start % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {}
  getrusage(RUSAGE_SELF, &ru0);
  int64_t cpu_t0 = now_ns();
  for (auto& t : th) t.join();
  getrusage(RUSAGE_SELF, &ru1);
  int64_t t_done = now_ns();
  getrusage(RUSAGE_SELF, &ruall);

  Stats s;
  for (auto* w : workers) {
    Stats& x = w->stats;
    s.lat.insert(s.lat.end(), x.lat.begin(), x.lat.end());
    s.service.insert(s.service.end(), x.service.begin(), x.service.end());
    s.send_lag.insert(s.send_lag.end(), x.send_lag.begin(), x.send_lag.end());
    for (auto& [k, v] : x.status) s.status[k] += v;
    s.bytes += x.bytes;
    s.err_read += x.err_read;
    s.err_write += x.err_write;
    s.err_timeout += x.err_timeout;
    s.warmup_requests += x.warmup_requests;
    s.warmup_errors += x.warmup_errors;
    s.late_sends += x.late_sends;
    s.unsent += x.unsent;
    s.reconnects += x.reconnects;
    delete w;
  }
  uint64_t requests = s.lat.size();
  uint64_t non200 = 0;
  std::string status_json = "{";
  for (auto& [k, v] : s.status) {
    if (k != 200) non200 += v;
    if (status_json.size() > 1) status_json += ",";
    status_json += "\"" + std::to_string(k) + "\":" + std::to_string(v);
  }
  status_json += "}";
  double dur = o.duration;
  double cpu_window = double(t_done - cpu_t0) / 1e9;
  double cpu_user = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime), cpu_sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
  uint64_t errors = s.err_read + s.err_write + s.err_timeout;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  std::ostringstream j;
  char b[256];
  j << (o.wrkjson ? "WRKJSON " : "") << "{\"tool\":\"loadgen\",\"url\":\"" << json_escape(o.url) << "\"";
  j << ",\"mode\":\"" << (o.rate > 0 ? "open" : "closed") << "\"";
  std::snprintf(b, sizeof b, ",\"target_rate\":%.1f,\"connections\":%d,\"threads\":%d", o.rate, o.connections, o.threads);
  j << b;
  std::snprintf(b, sizeof b, ",\"duration_s\":%.3f,\"duration_us\":%" PRId64 ",\"warmup_s\":%.3f", dur,
                int64_t(dur * 1e6), o.warmup);
  j << b;
  std::snprintf(b, sizeof b, ",\"requests\":%" PRIu64 ",\"rps\":%.1f,\"bytes\":%" PRIu64, requests,
                double(requests) / dur, s.bytes);
  j << b;
  j << ",\"errors\":{\"connect\":0,\"read\":" << s.err_read << ",\"write\":" << s.err_write
    << ",\"status\":" << non200 << ",\"timeout\":" << s.err_timeout << "}";
  j << ",\"error_total\":" << errors + non200 << ",\"non_200\":" << non200 << ",\"non_2xx\":" << non200;
  j << ",\"status\":" << status_json;
  j << ",\"lat_us\":" << dist_json(s.lat);
  if (o.rate > 0) {
    j << ",\"service_us\":" << dist_json(s.service);
    j << ",\"send_lag_us\":" << dist_json(s.send_lag);
    j << ",\"late_sends_1ms\":" << s.late_sends << ",\"unsent\":" << s.unsent << ",\"drain_s\":" << o.drain;
  }
  j << ",\"warmup_requests\":" << s.warmup_requests << ",\"warmup_errors\":" << s.warmup_errors
    << ",\"reconnects\":" << s.reconnects;
  std::snprintf(b, sizeof b,
                ",\"loadgen_cpu\":{\"user_s\":%.3f,\"sys_s\":%.3f,\"window_s\":%.3f,\"pct_one_core\":%.1f,"
                "\"pct_machine\":%.1f,\"total_user_s\":%.3f,\"total_sys_s\":%.3f}",
                cpu_user, cpu_sys, cpu_window, cpu_window > 0 ? 100.0 * (cpu_user + cpu_sys) / cpu_window : 0.0,
                cpu_window > 0 && ncpu > 0 ? 100.0 * (cpu_user + cpu_sys) / cpu_window / double(ncpu) : 0.0,
                tv_s(ruall.ru_utime), tv_s(ruall.ru_stime));
  j << b << "}";
  std::printf("%s\n", j.str().c_str());
  std::fflush(stdout);
  if (errors) {
    std::fprintf(stderr, "loadgen: %" PRIu64 " requests failed in the measured window (%" PRIu64 " timeouts after %g s, %" PRIu64
                 " read, %" PRIu64 " write errors)\n", errors, s.err_timeout, o.timeout, s.err_read, s.err_write);
    return 3;
  }
  return 0;
}
