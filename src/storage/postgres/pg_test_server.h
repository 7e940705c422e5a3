// A throwaway PostgreSQL server for the C++ tests: initdb + postgres on a
// free loopback port in a temporary directory, started on first use and
// stopped (directory removed) when the test binary exits; a fresh database
// per test through CreateDatabase().
//
// initdb and postgres refuse to run as root, so under root the server
// binaries run as the `postgres` OS user (the temp dir is chowned to it).
// The postmaster gets SIGQUIT if the test binary dies (PR_SET_PDEATHSIG), so
// a crashed test leaves no server behind. fsync is off: test data need not
// survive a power cut.
//
// Authentication: trust on loopback for the superuser `postgres`, except the
// role kPasswordUser, which must give kPassword (scram-sha-256), for testing
// password files.
//
// Header-only so that it is compiled into test binaries only.
// Thread-safety: Get() and CreateDatabase() are thread-safe.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace kiln::storage::postgres::testing {

inline constexpr const char* kPasswordUser = "kiln_pw";
inline constexpr const char* kPassword = "s3cret 'pw\"";

class PgTestServer {
 public:
  // The process-wide server (started on the first call). status() tells
  // whether it runs.
  static PgTestServer& Get() {
    static PgTestServer server;
    return server;
  }

  const Status& status() const { return status_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // postgresql:// URI of database `db` as the trusted superuser.
  std::string Uri(const std::string& db = "postgres", const std::string& user = "postgres") const {
    return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new empty database (UTF8, C collation); returns its URI.
  StatusOr<std::string> CreateDatabase() {
    if (!status_.ok()) return status_;
    static std::atomic<int> counter{0};
    const std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    KILN_RETURN_IF_ERROR(AdminExec("CREATE DATABASE " + name +
                                   " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"));
    return Uri(name);
  }

  // Runs SQL as the superuser on the `postgres` database.
  Status AdminExec(const std::string& sql, const std::string& db = "postgres") const {
    PGconn* c = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db).c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string m = PQerrorMessage(c);
      PQfinish(c);
      return Unavailable("test server: " + m);
    }
    PGresult* r = PQexec(c, sql.c_str());
    Status s;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      s = Internal("test server: " + std::string(PQresultErrorMessage(r)) + " in " + sql);
    }
    PQclear(r);
    PQfinish(c);
    return s;
  }

  ~PgTestServer() { Stop(); }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);  // fast shutdown
      for (int i = 0; i < 100; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    if (!dir_.empty() && std::getenv("KILN_KEEP_PG") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  // KILN_TEST_PG_PORT_FILE names the port of a server started for the whole
  // CTest run (scripts/test_pg_server.py); otherwise this process starts one.
  PgTestServer() {
    if (const char* f = std::getenv("KILN_TEST_PG_PORT_FILE")) {
      std::ifstream in(f);
      if (!(in >> port_) || port_ <= 0) {
        status_ = Unavailable(std::string("no PostgreSQL test server port in ") + f);
      }
      return;
    }
    status_ = Start();
  }

  static std::string BinDir() {
    const char* e = std::getenv("KILN_PG_BIN");
    return e ? e : "/usr/lib/postgresql/15/bin";
  }

  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
  }

  // Forks `argv` as the server user with output to `log`; death_signal is
  // sent to it when this thread exits (0: none).
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log, int death_signal) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: async-signal-safe calls only.
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (uid_ != 0 && geteuid() == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0) _exit(126);
    }
    // After setuid: changing credentials clears the parent-death signal.
    if (death_signal) {
      prctl(PR_SET_PDEATHSIG, death_signal);
      if (getppid() != parent) _exit(0);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }

  std::string ReadLog(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

  Status Start() {
    char tmpl[] = "/tmp/kiln-pg-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Internal("test server: mkdtemp failed");
    dir_ = tmpl;
    if (geteuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (pw == nullptr) return Internal("test server: running as root and there is no `postgres` OS user");
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (chown(dir_.c_str(), uid_, gid_) != 0) return Internal("test server: chown failed");
    }
    const std::string data = dir_ + "/data";
    const std::string initlog = dir_ + "/initdb.log";
    pid_t ip = Spawn({BinDir() + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--locale=C", "--no-sync"},
                     initlog, SIGTERM);
    int st = 0;
    waitpid(ip, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return Internal("test server: initdb failed: " + ReadLog(initlog));
    {
      // The password role first: the first matching line wins.
      std::ofstream hba(data + "/pg_hba.conf", std::ios::trunc);
      hba << "host all " << kPasswordUser << " 127.0.0.1/32 scram-sha-256\n"
          << "local all all trust\n"
          << "host all all 127.0.0.1/32 trust\n";
    }
    const std::string log = dir_ + "/server.log";
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      pid_ = Spawn({BinDir() + "/postgres", "-D", data, "-p", std::to_string(port_), "-c",
                    "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_, "-c", "fsync=off",
                    "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                    "-c", "shared_buffers=32MB"},
                   log, SIGQUIT);
      const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
      for (int i = 0; i < 600; ++i) {
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = -1;
          break;  // exited: port taken? try another
        }
        if (PQping(conninfo.c_str()) == PQPING_OK) {
          std::string pw = kPassword;
          std::string quoted;
          for (char c : pw) quoted += (c == '\'') ? std::string("''") : std::string(1, c);
          return AdminExec(std::string("CREATE ROLE ") + kPasswordUser + " LOGIN SUPERUSER PASSWORD '" + quoted +
                           "'");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    return Internal("test server: postgres did not start: " + ReadLog(log));
  }

  Status status_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace kiln::storage::postgres::testing
