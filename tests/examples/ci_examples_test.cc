// The CI examples users copy (examples/ci/): the GitHub Actions workflow and
// the GitLab CI job are YAML that parses; every ticketsim command they, the
// Dockerfile and their README name exists with the flags given to it; every
// make target they name is the Makefile's; each runs a suite with --trials,
// keeps its JUnit and HTML reports even when the run fails, and lets an
// exit 1 fail the job. Nothing is built or fetched.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ticketsim {
namespace {

using ::ticketsim::testing::Ran;
using ::ticketsim::testing::ReadFile;
using ::ticketsim::testing::RunProgram;
using ::ticketsim::testing::RunTicketsimArgs;

constexpr auto npos = std::string::npos;
const std::string kExamples = TICKETSIM_SOURCE_DIR "/examples/ci/";

// A YAML file as JSON, through Debian's python3-yaml; null if it does not
// parse.
nlohmann::json Yaml(const std::string& file) {
  const Ran ran = RunProgram(
      {"/usr/bin/python3", "-c",
       "import json, sys, yaml\n"
       "json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout, default=str)",
       file});
  EXPECT_EQ(ran.exit_code, 0) << file << ": " << ran.out;
  return nlohmann::json::parse(ran.out, nullptr, /*allow_exceptions=*/false);
}

// Every string in `json`, at any depth: the shell commands are among them.
void Strings(const nlohmann::json& json, std::vector<std::string>* out) {
  if (json.is_string()) out->push_back(json.get<std::string>());
  if (json.is_structured()) {
    for (const auto& item : json) Strings(item, out);
  }
}

// The fenced code blocks of a Markdown text, one after the other.
std::string CodeBlocks(const std::string& markdown) {
  std::string code;
  bool inside = false;
  std::istringstream in(markdown);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) {
      inside = !inside;
    } else if (inside) {
      code += line + "\n";
    }
  }
  return code;
}

// The words of each line of shell text, continued lines joined.
std::vector<std::vector<std::string>> ShellLines(std::string text) {
  text = std::regex_replace(text, std::regex("\\\\\n"), " ");
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    lines.emplace_back();
    for (std::string w; words >> w;) lines.back().push_back(w);
  }
  return lines;
}

// One `ticketsim COMMAND ...` in a line: its flags, each with the word
// after it.
struct Invocation {
  std::string command;
  std::map<std::string, std::string> flags;
};

std::vector<Invocation> Invocations(const std::string& text) {
  const std::set<std::string> ends = {"&&", "||", "|", ";", ")"};
  std::vector<Invocation> found;
  for (const auto& words : ShellLines(text)) {
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] != "ticketsim" ||
          !std::regex_match(words[i + 1], std::regex("[a-z]+"))) {
        continue;
      }
      Invocation call{words[i + 1], {}};
      for (size_t j = i + 2; j < words.size() && !ends.contains(words[j]);
           ++j) {
        if (!words[j].starts_with("--")) continue;
        const std::string flag = words[j].substr(0, words[j].find('='));
        call.flags[flag] = j + 1 < words.size() ? words[j + 1] : "";
      }
      found.push_back(call);
    }
  }
  return found;
}

// The commands `ticketsim --help` lists, or the options of `COMMAND --help`.
std::set<std::string> HelpWords(const std::vector<std::string>& args,
                                const std::string& pattern) {
  const Ran ran = RunTicketsimArgs(args);
  std::set<std::string> words;
  std::istringstream in(ran.out);
  const std::regex word(pattern);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, word)) words.insert(m[1]);
  }
  return words;
}

// Every ticketsim command in `text` exists, with every flag it gives.
void ExpectCommandsExist(const std::string& text, const std::string& where) {
  const std::set<std::string> commands =
      HelpWords({"--help"}, R"(^  ([a-z]+) )");
  for (const Invocation& call : Invocations(text)) {
    EXPECT_TRUE(commands.contains(call.command))
        << where << ": " << call.command;
    const std::set<std::string> options =
        HelpWords({call.command, "--help"}, R"(^  (?:-\w,)?(--[\w-]+))");
    for (const auto& [flag, value] : call.flags) {
      EXPECT_TRUE(options.contains(flag))
          << where << ": ticketsim " << call.command << " " << flag;
    }
  }
}

// Every `make ... TARGET` in `text` names a target of the Makefile.
void ExpectMakeTargetsExist(const std::string& text, const std::string& where) {
  const std::string makefile = ReadFile(TICKETSIM_SOURCE_DIR "/Makefile");
  for (const auto& words : ShellLines(text)) {
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] != "make") continue;
      for (size_t j = i + 1; j < words.size(); ++j) {
        if (words[j] == "-C") {
          ++j;
        } else if (!words[j].starts_with("-") && words[j].find('=') == npos) {
          EXPECT_TRUE(std::regex_search(makefile,
                                        std::regex("(^|\n)" + words[j] + ":")))
              << where << ": make " << words[j];
        }
      }
    }
  }
}

// The run of the suite in `text`: with --trials, --junit and --html, its
// exit status not masked. Returns its JUnit and HTML files.
std::pair<std::string, std::string> SuiteReports(const std::string& text,
                                                 const std::string& where) {
  for (const Invocation& call : Invocations(text)) {
    if (call.command != "run") continue;
    EXPECT_TRUE(call.flags.contains("--trials")) << where;
    EXPECT_EQ(text.find("|| true"), npos) << where;
    EXPECT_EQ(text.find("allow_failure"), npos) << where;
    EXPECT_EQ(text.find("continue-on-error"), npos) << where;
    const auto report = [&](const std::string& flag) {
      const auto it = call.flags.find(flag);
      EXPECT_TRUE(it != call.flags.end()) << where << ": no " << flag;
      return it == call.flags.end() ? std::string() : it->second;
    };
    return {report("--junit"), report("--html")};
  }
  ADD_FAILURE() << where << ": no ticketsim run";
  return {};
}

TEST(CiExamplesTest, TheGithubWorkflowRunsASuiteAndKeepsItsReports) {
  const std::string file = kExamples + "github-actions.yml";
  const nlohmann::json workflow = Yaml(file);
  ASSERT_TRUE(workflow.is_object()) << ReadFile(file);
  std::string shell;
  bool kept = false;
  const auto [junit, html] = [&] {
    for (const auto& [name, job] : workflow["jobs"].items()) {
      for (const auto& step : job["steps"]) {
        if (step.contains("run"))
          shell += step["run"].get<std::string>() + "\n";
      }
    }
    return SuiteReports(shell, file);
  }();
  for (const auto& [name, job] : workflow["jobs"].items()) {
    for (const auto& step : job["steps"]) {
      if (!step.value("uses", "").starts_with("actions/upload-artifact")) {
        continue;
      }
      kept = step.value("if", "") == "always()" &&
             step["with"]["path"].get<std::string>().find(junit) != npos &&
             step["with"]["path"].get<std::string>().find(html) != npos;
    }
  }
  EXPECT_TRUE(kept) << "the JUnit and HTML reports are kept, always";
  ExpectCommandsExist(shell, file);
  ExpectMakeTargetsExist(shell, file);
}

TEST(CiExamplesTest, TheGitlabJobRunsASuiteAndPublishesItsReports) {
  const std::string file = kExamples + "gitlab-ci.yml";
  const nlohmann::json pipeline = Yaml(file);
  ASSERT_TRUE(pipeline.is_object()) << ReadFile(file);
  const nlohmann::json& job = pipeline["ticketsim"];
  std::vector<std::string> lines;
  Strings(job["before_script"], &lines);
  Strings(job["script"], &lines);
  std::string shell;
  for (const std::string& line : lines) shell += line + "\n";
  const auto [junit, html] = SuiteReports(shell, file);
  const nlohmann::json& artifacts = job["artifacts"];
  EXPECT_EQ(artifacts["when"], "always");
  EXPECT_EQ(artifacts["reports"]["junit"], junit);
  std::vector<std::string> paths;
  Strings(artifacts["paths"], &paths);
  EXPECT_NE(std::find(paths.begin(), paths.end(), junit), paths.end());
  EXPECT_NE(std::find(paths.begin(), paths.end(), html), paths.end());
  ExpectCommandsExist(shell, file);
  ExpectMakeTargetsExist(shell, file);
}

// The image is Debian with the package installed; the README's commands
// (a scenario from a mounted folder among them) exist.
TEST(CiExamplesTest, TheDockerfileInstallsThePackageAndItsReadmeRunsIt) {
  const std::string dockerfile = ReadFile(kExamples + "Dockerfile");
  EXPECT_TRUE(std::regex_search(dockerfile, std::regex("\nFROM debian:")))
      << dockerfile;
  EXPECT_TRUE(std::regex_search(
      dockerfile, std::regex("apt-get install [^\n]*ticketsim_\\*\\.deb")))
      << dockerfile;
  EXPECT_NE(dockerfile.find("ENTRYPOINT [\"ticketsim\"]"), npos);
  ExpectMakeTargetsExist(dockerfile, "Dockerfile");
  const std::string readme = CodeBlocks(ReadFile(kExamples + "README.md"));
  EXPECT_TRUE(std::regex_search(
      readme, std::regex("docker run [^\n]*-v [^\n]* ticketsim run ")))
      << readme;
  ExpectCommandsExist(readme, "README.md");
  ExpectMakeTargetsExist(readme, "README.md");
}

}  // namespace
}  // namespace ticketsim
