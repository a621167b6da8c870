// PgServer: a throwaway PostgreSQL server, started by ticketsim for runs
// whose scenario names no server of its own (store.url).
//
// It lives in a run directory of its own (RunNames, with its liveness lock):
//   <dir>/pg.server    what ticketsim knows of the server (its pid, its
//                      start time, its user, its System V segment's key):
//                      written by ticketsim, in a directory only it writes
//   <dir>/pg/          the server's directory: its Unix socket, its logs
//   <dir>/pg/data/     the cluster initdb made
// initdb and postgres come from `pg_config --bindir` or a directory the
// scenario names (store.postgres_bin). The server is ticketsim's child,
// started without pg_ctl so that ticketsim knows its pid, sees it die, and
// has it shut down with ticketsim itself (the parent-death signal SIGQUIT,
// PostgreSQL's immediate shutdown). initdb runs under a keeper process that
// kills it and all it started should ticketsim die. The server runs with
// fsync off (nothing here needs to survive a crash), a password of 24
// random hex digits for its one role "ticketsim", and a Unix socket only,
// unless asked to listen on a TCP address too (buyers on other hosts).
// PostgreSQL refuses to run as root: as root it runs as the unprivileged
// user "postgres" the Debian package makes.
//
// Its port: PostgreSQL cannot be handed a bound socket, nor pick a port
// itself, so ticketsim picks a free one and lets it go for the server to
// take. Whoever takes it first keeps it: so ticketsim waits for the server
// on its Unix socket (in a directory no one else can enter), never over
// TCP, and then checks that every listener on that port is a socket of the
// server it started. Another process that took the port makes the server
// fail to start, and ticketsim tries another port. Nothing of ticketsim
// connects over TCP before that check (storage/pg_connect.h says what it
// refuses when it does).
//
// Stop removes the whole directory, and the System V segment the server
// made (removed by the server itself, unless it was killed). A ticketsim
// killed outright leaves a server (if the parent-death signal did not stop
// it) and a directory behind: the next run's cleanup (CleanLeftovers) finds
// the directory's lock free and hands it to StopServerLeftIn.
#ifndef TICKETSIM_STORAGE_PG_SERVER_H_
#define TICKETSIM_STORAGE_PG_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/status.h"
#include "storage/run_names.h"

namespace ticketsim {

struct PgServerOptions {
  std::string bin_dir;    // initdb and postgres; "" = `pg_config --bindir`
  std::string listen;     // also listen on this TCP address; "" = socket only
  int connections = 100;  // max_connections
};

class PgServer {
 public:
  PgServer() = default;
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer() { Stop(); }

  // Makes a cluster and starts the server; returns when it accepts
  // connections. On failure nothing is left: no process, no directory.
  Status Start(const PgServerOptions& options);
  // Shuts it down (immediate shutdown, then SIGKILL if it lingers) and
  // removes its directory. Safe to call when not started.
  void Stop();

  // Started and not ended (it may be stopped).
  bool running();
  // Why it cannot serve: "" while it runs, else that it ended (and how) or
  // was stopped (SIGSTOP).
  std::string Trouble();
  const PgServerOptions& options() const { return options_; }
  // How to reach it: libpq's key=value form, with the password. Through
  // its Unix socket, for processes on this machine.
  const std::string& conninfo() const { return conninfo_; }
  // Through the TCP address it listens on too (options().listen), for
  // buyers on other hosts; conninfo() when it listens on none.
  const std::string& remote_conninfo() const { return remote_conninfo_; }
  // From the first step of initdb until the server accepted a connection.
  double start_up_ms() const { return start_up_ms_; }
  pid_t pid() const { return pid_; }
  const RunNames& names() const { return names_; }

 private:
  Status StartIn(const std::string& bin_dir);
  // Starts postgres on `port` and waits until it takes connections on its
  // socket and is the only listener on its TCP port. Sets *port_taken when
  // another process has the port.
  Status Launch(const std::string& bin_dir, int port, int log_fd,
                bool* port_taken);
  Status AwaitReady(const std::string& log);
  // Ends the server (whichever way) and removes its System V segment.
  void EndServer();

  PgServerOptions options_;
  RunNames names_;
  RunLease lease_;
  bool started_run_ = false;
  pid_t pid_ = -1;
  int pidfd_ = -1;     // the server's pidfd: signals reach it alone
  std::string ended_;  // how it ended, once it has
  unsigned long long start_time_ = 0;  // in clock ticks since boot
  uid_t uid_ = 0;                      // the user it runs as
  long long segment_key_ = -1;         // its System V segment's; -1: none seen
  pid_t owner_ = -1;  // the process that started it: only it stops it
  std::string password_;
  std::string conninfo_;
  std::string remote_conninfo_;
  double start_up_ms_ = 0;
};

// The throwaway server this process shares among its runs (trials and
// scenarios of one command): started by the first run that needs one, and
// started again when a run needs other options (more connections, another
// address or binaries) or it has died. Sets *conninfo, and *start_up_ms to
// the start-up time if it was started now, or to -1 if it was already up.
// *remote_conninfo, if given, is how buyers on other hosts reach it.
Status UseThrowawayServer(const PgServerOptions& options, std::string* conninfo,
                          double* start_up_ms,
                          std::string* remote_conninfo = nullptr);
// Stops it, if this process started one. Also run at exit.
void StopThrowawayServer();
// Its pid, or -1: a process ticketsim must not kill when it sweeps up its
// children.
pid_t ThrowawayServerPid();
// Why it cannot serve ("" when it can, or when there is none): it ended or
// was stopped since it started.
std::string ThrowawayServerTrouble();

// Stops the server a dead ticketsim left running in the run directory open
// as `run_dir`, then removes the System V segment it made. Trusts only the
// record ticketsim wrote there (pg.server), nothing the server's user can
// write: the process must still be the one recorded (its pid and start
// time), and a segment goes only if that process made it, the server's
// user owns it, and its key is the one recorded. Does nothing if there is
// no record.
void StopServerLeftIn(int run_dir);

// Quotes a value for libpq's key=value form.
std::string ConninfoValue(const std::string& value);

// Reaps one child of this process that has ended, as waitpid(-1, status,
// WNOHANG) does, but never the throwaway PostgreSQL server: its own watch
// reaps it, to say how it ended. Returns the pid reaped; 0 while every child
// still runs; -1 with ECHILD once no child but the server is left.
pid_t ReapChild(int* status);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_PG_SERVER_H_
