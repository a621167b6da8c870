// The fuzzer's corpus (fuzz/corpus/) replayed as a test: every seed, every
// input the fuzzer kept and every crash it found must load, or fail with its
// place, and every command line must be prepared without running anything
// or leaving a file behind, as the fuzzer checks. A change that breaks one
// fails here, without clang or a fuzzing run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_command_line.h"

namespace ticketsim {
namespace {

namespace fs = std::filesystem;

TEST(FuzzCorpusTest, EveryInputKeepsItsPromises) {
  std::vector<fs::path> files;
  for (const auto& entry :
       fs::recursive_directory_iterator(TICKETSIM_FUZZ_CORPUS_DIR)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no corpus in " TICKETSIM_FUZZ_CORPUS_DIR;

  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read";
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
    EXPECT_EQ(CheckFuzzInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size()),
              "");
  }
}

}  // namespace
}  // namespace ticketsim
