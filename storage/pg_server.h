// PgServer: a throwaway PostgreSQL server, started by ticketsim for runs
// whose scenario names no server of its own (store.url).
//
// It lives in a run directory of its own (RunNames, with its liveness lock):
//   <dir>/pg/          the server's directory: its Unix socket, its log
//   <dir>/pg/data/     the cluster initdb made
// initdb and postgres come from `pg_config --bindir` or a directory the
// scenario names (store.postgres_bin). The server is ticketsim's child,
// started without pg_ctl so that ticketsim knows its pid, sees it die, and
// has it shut down with ticketsim itself (the parent-death signal SIGQUIT,
// PostgreSQL's immediate shutdown). It runs with fsync off (nothing here needs
// to survive a crash), a password of 24 random hex digits for its one role
// "ticketsim", and a Unix socket only, unless asked to listen on a TCP
// address too (buyers on other hosts). PostgreSQL refuses to run as root: as
// root it runs as the unprivileged user "postgres" the Debian package makes.
//
// Stop removes the whole directory. A ticketsim killed outright leaves a
// server (if the parent-death signal did not stop it) and a directory behind:
// the next run's cleanup (CleanLeftovers) finds the directory's lock free,
// stops the server it names (StopServerLeftIn) and removes both.
#ifndef TICKETSIM_STORAGE_PG_SERVER_H_
#define TICKETSIM_STORAGE_PG_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "storage/run_names.h"
#include "storage/status.h"

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

  bool running() const;
  const PgServerOptions& options() const { return options_; }
  // How to reach it: libpq's key=value form, with the password.
  const std::string& conninfo() const { return conninfo_; }
  // From the first step of initdb until the server accepted a connection.
  double start_up_ms() const { return start_up_ms_; }
  pid_t pid() const { return pid_; }
  const RunNames& names() const { return names_; }

 private:
  Status StartIn(const std::string& bin_dir);

  PgServerOptions options_;
  RunNames names_;
  RunLease lease_;
  bool started_run_ = false;
  pid_t pid_ = -1;
  pid_t owner_ = -1;  // the process that started it: only it stops it
  std::string conninfo_;
  double start_up_ms_ = 0;
};

// The throwaway server this process shares among its runs (trials and
// scenarios of one command): started by the first run that needs one, and
// started again when a run needs other options (more connections, another
// address or binaries) or it has died. Sets *conninfo, and *start_up_ms to
// the start-up time if it was started now, or to -1 if it was already up.
Status UseThrowawayServer(const PgServerOptions& options, std::string* conninfo,
                          double* start_up_ms);
// Stops it, if this process started one. Also run at exit.
void StopThrowawayServer();
// Its pid, or -1: a process ticketsim must not kill when it sweeps up its
// children.
pid_t ThrowawayServerPid();

// Stops the server a dead ticketsim left running in the run directory open
// as `run_dir` (its pid file names it, and it must still be a postgres
// process in that data directory), then removes the System V segment it
// kept. Does nothing if there is none.
void StopServerLeftIn(int run_dir);

// Quotes a value for libpq's key=value form.
std::string ConninfoValue(const std::string& value);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_PG_SERVER_H_
