// What a new user meets first: the command line's defaults, the rates and
// words of the reports, and the messages for what they get wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/rates.h"
#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::LeftoversOfEndedRuns;
using ::ticketsim::testing::Ran;
using ::ticketsim::testing::RunTicketsimArgs;
using ::ticketsim::testing::TempDir;

constexpr const char* kLibrary = TICKETSIM_SOURCE_DIR "/scenarios";

std::string Library(const std::string& name) {
  return std::string(kLibrary) + "/" + name;
}

bool Has(const std::string& out, const std::string& text) {
  return out.find(text) != std::string::npos;
}

class FirstStepsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    const auto left = LeftoversOfEndedRuns();
    EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  }
  TempDir tmp_;
};

}  // namespace
}  // namespace ticketsim
