// `ticketsim serve`: a real box office, on a real socket, bought from by
// real curl processes; its verdict at Ctrl-C (a real SIGINT).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using namespace ticketsim::testing;

class ServeTest : public LeavesNothingTest {
 protected:
  // Starts `ticketsim serve ARGS --json report.json` in the background,
  // waits (bounded) for its URL in $URL, runs `body` (bash), then sends
  // SIGINT and prints the exit status and everything the server printed.
  Ran Serve(const std::string& args, const std::string& body) {
    const std::string t = tmp_.path();
    const std::string script = fmt::format(
        R"(set -u
T={0}
{1} serve {2} --json "$T/report.json" > "$T/out" 2> "$T/err" &
P=$!
i=0
while ! grep -q '^box office open at' "$T/out" && [ $i -lt 400 ]; do
  sleep 0.05; i=$((i + 1))
done
URL=$(sed -n 's/^box office open at \(http[^ ?]*\).*/\1/p' "$T/out")
PORT=$(printf '%s' "$URL" | sed -n 's/.*:\([0-9]*\)\/$/\1/p')
{3}
kill -INT $P
wait $P
echo "exit=$?"
cat "$T/out" "$T/err"
)",
        t, TICKETSIM_BINARY, args, body);
    return RunProgram({"/bin/bash", "-c", script});
  }
  nlohmann::json Report() {
    return ReadJson(tmp_.path() + "/report.json")["scenarios"][0]["runs"][0];
  }
};

// A curl buys one ticket; the verdict printed at Ctrl-C counts it.
TEST_F(ServeTest, CurlBuysATicketAndTheVerdictAtCtrlCCountsIt) {
  const Ran ran = Serve("--store memory --tickets 10",
                        R"(curl -s -m 30 -X POST "${URL}buy"; echo
curl -s -m 30 "${URL}count"; echo
curl -s -m 30 "${URL}health")");
  EXPECT_TRUE(Has(ran.out, R"({"buyer":0,"seat":10})")) << ran.out;
  EXPECT_TRUE(Has(ran.out, R"({"count":9})")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "\nok\n")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(
      Has(ran.out, "box office closed: 1 buyer (connections that bought)"))
      << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_EQ(run["tickets"]["remaining"], 9);
  EXPECT_EQ(run["box_office"]["connections"], 1);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
}

// Eight curl loops, let go together, against a box office with no lock and
// a think time of a second between each handler's read and its write:
// every first request of the eight reads the same count, so updates are
// lost, and the verdict names them with witnesses.
TEST_F(ServeTest, EightCurlLoopsAgainstAGuardlessServerLoseUpdates) {
  const Ran ran = Serve("--store memory --tickets 100 --think-ms 1000,1000",
                        R"(for n in 1 2 3 4 5 6 7 8; do
  ( i=0
    while [ ! -e "$T/go" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
    for k in 1 2; do curl -s -m 60 -X POST "${URL}buy"; echo; done ) &
done
touch "$T/go"
wait $(jobs -p | grep -v "^$P$"))");
  EXPECT_TRUE(Has(ran.out, "exit=1")) << ran.out;
  // Every curl call is a connection, and so a buyer, of its own.
  EXPECT_TRUE(Has(ran.out, "box office closed: 16 buyers")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "LOST UPDATE")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "'s write undid")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["purchases"]["confirmed"], 16);
  bool lost = false;
  for (const auto& v : run["violations"]) {
    if (v["kind"] == "lost update") {
      lost = true;
      EXPECT_FALSE(v["witnesses"].empty()) << v.dump();
    }
  }
  EXPECT_TRUE(lost) << run["violations"].dump();
}

// examples/python/box_office_client.py, four copies at once, each one
// keep-alive connection of five purchases: four buyers, twenty seats, each
// sold once behind the std-mutex; the timeline page draws their lanes.
TEST_F(ServeTest, ThePythonExampleClientBuysOnOneConnectionEach) {
  const Ran ran = Serve(
      "--store memory --guard std-mutex --tickets 30 --think-ms 5,5 --html "
      "\"$T/page.html\"",
      fmt::format(R"(for n in 1 2 3 4; do
  python3 {}/examples/python/box_office_client.py "$URL" 5 > "$T/client$n" &
done
wait $(jobs -p | grep -v "^$P$")
cat "$T"/client*)",
                  TICKETSIM_SOURCE_DIR));
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "seat 30")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "seat 11")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["box_office"]["connections"], 4);
  EXPECT_EQ(run["purchases"]["confirmed"], 20);
  EXPECT_EQ(run["tickets"]["remaining"], 10);
  const std::string page = ReadFile(tmp_.path() + "/page.html");
  EXPECT_TRUE(Has(page, "<svg")) << page.substr(0, 400);
  EXPECT_TRUE(Has(page, "the box office at http://127.0.0.1:"))
      << page.substr(0, 400);
  EXPECT_TRUE(Has(page, ">connection 3<title>")) << page.substr(0, 400);
}

// The same rush with the handlers behind a std::mutex: no violation.
TEST_F(ServeTest, TheSameRushBehindAStdMutexSellsEachSeatOnce) {
  const Ran ran =
      Serve("--store memory --guard std-mutex --tickets 100 --think-ms 20,20",
            R"(for n in 1 2 3 4 5 6 7 8; do
  ( for k in 1 2; do curl -s -m 60 -X POST "${URL}buy"; echo; done ) &
done
wait $(jobs -p | grep -v "^$P$"))");
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["purchases"]["confirmed"], 16);
  EXPECT_EQ(run["tickets"]["remaining"], 84);
  EXPECT_TRUE(run["violations"].empty()) << run["violations"].dump();
}

// A pool of two threads serves four keep-alive clients, one connection at
// a time each; a file store under the file lock, each connection with its
// own descriptor and lock file description.
TEST_F(ServeTest, APoolOfTwoThreadsServesEveryClient) {
  const Ran ran = Serve(
      "--store file --guard file-lock --tickets 20 --set server.workers=pool "
      "--set server.threads=2",
      R"(for n in 1 2 3 4; do
  curl -s -m 60 -X POST "${URL}buy" "${URL}buy" "${URL}buy" > /dev/null &
done
wait $(jobs -p | grep -v "^$P$"))");
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "a pool of 2 threads")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["purchases"]["confirmed"], 12);
  EXPECT_EQ(run["tickets"]["remaining"], 8);
  EXPECT_EQ(run["box_office"]["connections"], 4);
}

// The first buyer told it is sold out closes the box office by itself.
TEST_F(ServeTest, SoldOutClosesTheBoxOffice) {
  const std::string t = tmp_.path();
  const Ran ran =
      RunProgram({"/bin/bash", "-c",
                  fmt::format(
                      R"({1} serve --store memory --tickets 2 > {0}/out 2>&1 &
P=$!
i=0
while ! grep -q '^box office open at' {0}/out && [ $i -lt 400 ]; do
  sleep 0.05; i=$((i + 1))
done
URL=$(sed -n 's/^box office open at \(http[^ ?]*\).*/\1/p' {0}/out)
curl -s -m 30 -X POST "${{URL}}buy" "${{URL}}buy" "${{URL}}buy"; echo
i=0
while kill -0 $P 2> /dev/null && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 $P 2> /dev/null && echo STILL-OPEN && kill -INT $P
wait $P
echo "exit=$?"
cat {0}/out)",
                      t, TICKETSIM_BINARY)});
  EXPECT_TRUE(Has(ran.out, R"({"sold_out":true})")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "STILL-OPEN")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "box office closed (sold out)")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
}

// One connection at a time: a second is told 503 and counted; once the
// first is gone, the next is served. A client that connects and never
// sends does not keep the box office from closing at Ctrl-C.
TEST_F(ServeTest, ConnectionsBeyondTheLimitAreRefusedAndCounted) {
  const Ran ran =
      Serve("--store memory --tickets 10 --set server.max_connections=1",
            R"(exec 3<> "/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
curl -s -m 30 -X POST "${URL}buy"; echo
exec 3>&-
i=0
until curl -s -m 30 -X POST "${URL}buy" | grep -q seat || [ $i -ge 100 ]; do
  sleep 0.05; i=$((i + 1))
done
exec 4<> "/dev/tcp/127.0.0.1/$PORT")");
  EXPECT_TRUE(Has(ran.out, "too many connections")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "more refused (server.max_connections)")) << ran.out;
  const nlohmann::json run = Report();
  EXPECT_EQ(run["purchases"]["confirmed"], 1);
  EXPECT_GE(run["box_office"]["refused"].get<int>(), 1);
}

// A client that sends a pile of purchases and never reads a reply: the
// box office still closes at Ctrl-C (once a purchase under way has had its
// time, a connection that does not take its replies is cut off), and a
// second Ctrl-C while it closes changes nothing: its exit is the verdict's.
TEST_F(ServeTest, AClientThatNeverReadsDoesNotKeepItOpen) {
  const Ran ran =
      Serve("--store memory --tickets 100000000 --think-ms 0 --timeout-ms 100",
            R"(python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
request = b"POST /buy HTTP/1.1\r\nHost: box\r\n\r\n"
s.settimeout(5)
try:
    for _ in range(200000):
        s.sendall(request)
except OSError:
    pass
time.sleep(60)
PY
C=$!
sleep 1
kill -INT $P
sleep 0.2
i=0
while kill -0 $P 2> /dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 $P 2> /dev/null && echo STILL-OPEN
kill $C 2> /dev/null
wait $C 2> /dev/null)");
  EXPECT_FALSE(Has(ran.out, "STILL-OPEN")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "box office closed: 1 buyer")) << ran.out;
}

TEST_F(ServeTest, ASecondCtrlCWhileItClosesKeepsTheVerdictsExit) {
  const Ran ran = Serve("--store memory --tickets 10 --think-ms 1500",
                        R"(curl -s -m 30 -X POST "${URL}buy" > "$T/bought" &
sleep 0.5
kill -INT $P
sleep 0.2
kill -INT $P
wait $(jobs -p | grep -v "^$P$")
cat "$T/bought"; echo)");
  EXPECT_TRUE(Has(ran.out, R"("seat":10)")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "verdict   no violation")) << ran.out;
}

// A Unix socket left by a box office killed outright is taken over by the
// next (a live one, or a file of another kind, never).
TEST_F(ServeTest, AStaleUnixSocketIsTakenOver) {
  const std::string t = tmp_.path();
  const Ran ran = RunProgram(
      {"/bin/bash", "-c",
       fmt::format(
           R"({1} serve --store memory --listen unix:{0}/s.sock > {0}/out1 2>&1 &
P=$!
i=0
while [ ! -S {0}/s.sock ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $P; wait $P
{1} clean > /dev/null 2>&1
touch {0}/plain
{1} serve --store memory --listen unix:{0}/plain; echo "plain=$?"
{1} serve --store memory --listen unix:{0}/s.sock > {0}/out2 2>&1 &
P=$!
i=0
while ! grep -q '^box office open at' {0}/out2 && [ $i -lt 400 ]; do
  sleep 0.05; i=$((i + 1))
done
curl -s -m 30 --unix-socket {0}/s.sock -X POST http://box/buy; echo
kill -INT $P; wait $P; echo "exit=$?"
[ -e {0}/s.sock ] && echo SOCKET-LEFT)",
           t, TICKETSIM_BINARY)});
  EXPECT_TRUE(Has(ran.out, "plain=3")) << ran.out;
  EXPECT_TRUE(Has(ran.out, R"("seat":1)")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_FALSE(Has(ran.out, "SOCKET-LEFT")) << ran.out;  // unlinked at close
}

// `--json -`: stdout is the JSON alone; the box office's words go to
// stderr.
TEST_F(ServeTest, JsonToStdoutIsJsonAlone) {
  const std::string t = tmp_.path();
  const Ran ran = RunProgram(
      {"/bin/bash", "-c",
       fmt::format(
           R"({1} serve --store memory --tickets 3 --json - > {0}/json 2> {0}/err &
P=$!
i=0
while ! grep -q '^box office open at' {0}/err && [ $i -lt 400 ]; do
  sleep 0.05; i=$((i + 1))
done
URL=$(sed -n 's/^box office open at \(http[^ ?]*\).*/\1/p' {0}/err)
curl -s -m 30 -X POST "${{URL}}buy" > /dev/null
kill -INT $P; wait $P; echo "exit=$?"
python3 -c 'import json,sys; print("confirmed", json.load(open(sys.argv[1]))["scenarios"][0]["runs"][0]["purchases"]["confirmed"])' {0}/json)",
           t, TICKETSIM_BINARY)});
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "confirmed 1")) << ran.out;
}

// Bytes that are not HTTP get 400 and end their connection; the box office
// goes on serving.
TEST_F(ServeTest, MalformedRequestsAreAnsweredAndTheBoxOfficeGoesOn) {
  const Ran ran = Serve("--store memory --tickets 10",
                        R"(exec 3<> "/dev/tcp/127.0.0.1/$PORT"
printf 'NOT HTTP AT ALL\r\n\r\n' >&3
timeout 10 cat <&3; echo
exec 3>&-
curl -s -m 30 -X GET "${URL}buy"; echo
curl -s -m 30 "${URL}nowhere"; echo
curl -s -m 30 -X POST "${URL}buy"; echo)");
  EXPECT_TRUE(Has(ran.out, "HTTP/1.1 400 Bad Request")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "buy with POST /buy")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "no such page")) << ran.out;
  EXPECT_TRUE(Has(ran.out, R"("seat":10)")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
}

// Listening beyond loopback takes a token: a purchase without it is 403.
TEST_F(ServeTest, BeyondLoopbackATokenIsNeeded) {
  const std::string t = tmp_.path();
  const Ran ran = RunProgram(
      {"/bin/bash", "-c",
       fmt::format(
           R"({1} serve --store memory --tickets 5 --listen 0.0.0.0:0 > {0}/out 2> {0}/err &
P=$!
i=0
while ! grep -q '^box office open at' {0}/out && [ $i -lt 400 ]; do
  sleep 0.05; i=$((i + 1))
done
FULL=$(sed -n 's/^box office open at \(http[^ ]*\)$/\1/p' {0}/out)
TOKEN=${{FULL#*token=}}
PORT=$(printf '%s' "$FULL" | sed -n 's/.*:\([0-9]*\)\/.*/\1/p')
curl -s -m 30 -X POST "http://127.0.0.1:$PORT/buy"; echo
curl -s -m 30 -X POST "http://127.0.0.1:$PORT/buy?token=$TOKEN"; echo
kill -INT $P
wait $P
echo "exit=$?"
cat {0}/out {0}/err)",
           t, TICKETSIM_BINARY)});
  EXPECT_TRUE(Has(ran.out, "takes purchases with its token only")) << ran.out;
  EXPECT_TRUE(Has(ran.out, R"("seat":5)")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "beyond this machine")) << ran.out;
  EXPECT_TRUE(Has(ran.out, "exit=0")) << ran.out;
}

// What a box office cannot be given: exit 2, naming the key or the flag.
TEST_F(ServeTest, BadInputIsExitTwoNamingWhatIsWrong) {
  std::string out;
  EXPECT_EQ(RunTicketsim("serve --store postgres", &out), 2) << out;
  EXPECT_TRUE(Has(out, "store.kind")) << out;
  EXPECT_EQ(RunTicketsim("serve --listen nonsense", &out), 2) << out;
  EXPECT_TRUE(Has(out, "server.listen")) << out;
  EXPECT_EQ(RunTicketsim("serve --listen 127.0.0.1:99999", &out), 2) << out;
  EXPECT_TRUE(Has(out, "server.listen")) << out;
  EXPECT_EQ(RunTicketsim("serve --set faults.kill_holder=0.5", &out), 2) << out;
  EXPECT_TRUE(Has(out, "faults")) << out;
  EXPECT_EQ(RunTicketsim("serve --set server.workers=forked", &out), 2) << out;
  EXPECT_TRUE(Has(out, "server.workers")) << out;
  EXPECT_EQ(
      RunTicketsim(fmt::format("serve {} {}", Library("01-rush-unguarded.toml"),
                               Library("02-rush-guarded.toml")),
                   &out),
      2)
      << out;
}

}  // namespace
}  // namespace ticketsim
