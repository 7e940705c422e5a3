// A real redis-server for tests: started on a free loopback port in a
// temporary directory (optionally with a password or TLS), stopped by the
// destructor. Test-only (included by *_test.cc).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace kiln::storage::redis {

inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class TestRedisServer {
 public:
  struct Tls {
    std::string cert, key, ca;
  };
  explicit TestRedisServer(std::string password = "", const Tls* tls = nullptr)
      : password_(std::move(password)), tls_(tls ? *tls : Tls{}), use_tls_(tls != nullptr) {
    char tmpl[] = "/tmp/kiln_redis_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreeLoopbackPort();
    Start();
  }
  ~TestRedisServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  void Start() {
    std::vector<std::string> args = {"redis-server", "--bind", "127.0.0.1", "--dir", dir_, "--save", "",
                                     "--appendonly", "no", "--logfile", dir_ + "/redis.log"};
    if (use_tls_) {
      args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file", tls_.cert,
                               "--tls-key-file", tls_.key, "--tls-ca-cert-file", tls_.ca, "--tls-auth-clients",
                               "no"});
    } else {
      args.insert(args.end(), {"--port", std::to_string(port_)});
    }
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("redis-server", argv.data());
      _exit(127);
    }
    // Ready when the port accepts connections.
    for (int i = 0; i < 500; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port_));
      const bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string password_;
  Tls tls_;
  bool use_tls_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kiln::storage::redis
