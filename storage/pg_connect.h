// How ticketsim talks to a PostgreSQL server through libpq: connecting
// without ever sending its password in clear text, waiting on the server
// in a way that an interrupt or a dead server cuts short, and the text of
// what libpq and the server say, fit to be shown.
//
// Every connection (the run's own, each buyer's, each host's) goes through
// PgConnect: libpq's asynchronous connection, driven here. Before libpq
// reads what the server sent while it is asking for authentication,
// PgConnect looks at it on the socket: a request for the password in clear
// text (AuthenticationCleartextPassword) ends the connection before libpq
// can answer it. So a process that took the server's port, or a server
// that would read the password, never gets it. (libpq 16 says the same
// with require_auth; this is for libpq 15. Over TLS or GSSAPI encryption
// the requests cannot be seen: there the server is who sslmode says.)
//
// A process that waits on a server (the parent: its table, its final
// read, the throwaway server's start) can be told to stop waiting: while a
// PgWaitWatch lives, each such wait asks it at least every 50 ms whether
// to go on. Forked buyers are never watched: the parent ends them.
#ifndef TICKETSIM_STORAGE_PG_CONNECT_H_
#define TICKETSIM_STORAGE_PG_CONNECT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace ticketsim {

// For its life, the waits of this process on a PostgreSQL server call
// `check`, which returns Ok to go on waiting, or why to stop (the wait
// then fails with that status). One at a time; not in forked children.
class PgWaitWatch {
 public:
  explicit PgWaitWatch(std::function<Status()> check);
  ~PgWaitWatch();
  PgWaitWatch(const PgWaitWatch&) = delete;
  PgWaitWatch& operator=(const PgWaitWatch&) = delete;
};

// What the watch says now (Ok without one).
Status PgWaitCheck();
// Sleeps `ns`, asking the watch at least every 50 ms: Ok once the time is
// up, else why the watch stopped it.
Status PgWaitNap(int64_t ns);
// Connects with libpq's keywords and values (expand_dbname: the last
// "dbname" may be a whole conninfo or URI), waiting at most `limit_ms` and
// what the watch allows. Refuses a server that asks for the password in
// clear text. On failure, the status is Environment, its message libpq's
// or ours (unmasked: the caller knows the password to hide).
Status PgConnect(const char* const* keys, const char* const* values,
                 int64_t limit_ms, PGconn** out);

// Waits for the result of the statement just sent on `db` (PQsendQuery and
// the like) as the watch allows; sets *out to the last result, or to the
// first that failed (the caller frees it). Not Ok only when the watch
// stopped the wait: the connection is then of no further use.
Status PgAwaitResult(PGconn* db, PGresult** out);

// `text` with every password it quotes masked: the password of a
// postgres:// or postgresql:// URI's user info, and the value of each
// password=... (key=value form, or a URI's query).
std::string HidePasswords(std::string_view text);

// What libpq or the server said, as lines: without the space around them
// (libpq indents its hints with a tab) or empty lines, other tabs made
// spaces, joined by '\n'.
std::string ServerLines(std::string_view text);

// The address of the server `conninfo` (a libpq conninfo "host=... port=..."
// or URI "postgresql://user@host:port/db") names, or "" for a Unix socket
// or none.
std::string ServerAddress(std::string_view conninfo);

}  // namespace ticketsim

#endif  // TICKETSIM_STORAGE_PG_CONNECT_H_
