// The fuzzers' corpora (fuzz/corpus/NAME/) replayed as a test: every seed,
// every input a fuzzer kept and every crash it found must keep that fuzzer's
// promises: a scenario input must load, or fail with its place, and a
// command line must be prepared without running anything or leaving a file
// behind; a program's fd-3 lines must be recorded or refused with a
// protocol error; an agent's lines must be taken or refused, and the run
// reported. A change that breaks one fails here, without clang or a fuzzing
// run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_agent_lines.h"
#include "fuzz/fuzz_command_line.h"
#include "fuzz/fuzz_http_request.h"
#include "fuzz/fuzz_program_events.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

using CheckFn = std::string (*)(const uint8_t* data, size_t size);

// Replays every file of fuzz/corpus/`name` through `check`.
void ReplayCorpus(const std::string& name, CheckFn check) {
  const fs::path dir = fs::path(TICKETSIM_FUZZ_CORPUS_DIR) / name;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no corpus in " << dir;

  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read";
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
    EXPECT_EQ(
        check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        "");
  }
}

TEST(FuzzCorpusTest, EveryInputKeepsItsPromises) {
  ReplayCorpus("scenario", CheckFuzzInput);
}

TEST(FuzzCorpusTest, EveryProgramEventLineIsRecordedOrRefused) {
  ReplayCorpus("program_events", CheckProgramEventsInput);
}

TEST(FuzzCorpusTest, EveryAgentLineIsTakenOrRefusedAndTheRunReported) {
  ReplayCorpus("agent_lines", CheckAgentLinesInput);
}

TEST(FuzzCorpusTest, EveryRequestToTheBoxOfficeGetsAReplyOfItsProtocol) {
  ReplayCorpus("http_request", CheckHttpRequestInput);
}

}  // namespace
}  // namespace ticketsim
