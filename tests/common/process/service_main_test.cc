#include "common/process/service_main.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

// Flags of this test binary, for CheckCommandLineFlags.
ABSL_FLAG(int, test_count, 0, "An int flag.");
ABSL_FLAG(bool, test_switch, false, "A bool flag.");

namespace ivg {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kService[] = IVG_BINARY_DIR "/tests/common/ivg_minimal_service";

absl::Status Check(std::vector<std::string> args) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return CheckCommandLineFlags(static_cast<int>(argv.size()), argv.data());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the minimal service to completion; it must fail at start-up.
testing::CommandResult RunService(const std::string& args) {
  return testing::RunCommand(absl::StrCat(kService, " ", args));
}

TEST(CheckCommandLineFlags, AcceptsKnownFlagsInEveryAbslSpelling) {
  EXPECT_TRUE(Check({"--test_count=3", "-test_count=4", "--test_count", "5", "--test_switch",
                     "--notest_switch", "--test_switch=false", "--config=x.textproto"})
                  .ok());
  EXPECT_TRUE(Check({"--", "positional after the terminator"}).ok());
}

TEST(CheckCommandLineFlags, NamesAnUnknownFlag) {
  absl::Status status = Check({"--test_count=1", "--metrics_port=9400"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown flag --metrics_port"));
  // "no" only negates bool flags.
  EXPECT_FALSE(Check({"--notest_count"}).ok());
}

TEST(CheckCommandLineFlags, NamesAFlagWithAMalformedOrMissingValue) {
  absl::Status status = Check({"--test_count=many"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--test_count"));
  EXPECT_THAT(Check({"--test_count"}).message(), HasSubstr("missing value for --test_count"));
}

TEST(CheckCommandLineFlags, RejectsStrayArguments) {
  // A value given to a bool flag with a space is not its value in absl: it would be dropped.
  EXPECT_THAT(Check({"--test_switch", "true"}).message(), HasSubstr("unexpected argument"));
}

TEST(ParseHostPort, AcceptsHostAndPortIncludingZero) {
  auto parsed = ParseHostPort("0.0.0.0:0", "--address");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->first, "0.0.0.0");
  EXPECT_EQ(parsed->second, 0);
  EXPECT_EQ(ParseHostPort("replay-0.replay:50110", "--address")->second, 50110);
}

TEST(ParseHostPort, RejectsAPortAloneOrOutOfRange) {
  for (const char* bad : {"9400", ":9400", "host:", "host:70000", "host:-1", "host:x"}) {
    absl::StatusOr<std::pair<std::string, int>> parsed = ParseHostPort(bad, "--metrics_address");
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--metrics_address")) << bad;
  }
}

TEST(FormatReadyLine, PutsGrpcAndMetricsFirstThenTheServiceFields) {
  EXPECT_EQ(FormatReadyLine("ivg_replay_server", "127.0.0.1:50110", "127.0.0.1:9400",
                            {{"shard", "0"}, {"items", "12"}}),
            "ivg_replay_server ready: grpc=127.0.0.1:50110 metrics=127.0.0.1:9400 shard=0 "
            "items=12");
  EXPECT_EQ(FormatReadyLine("ivg_actor", "", "0.0.0.0:9400", {{"actor_id", "3"}}),
            "ivg_actor ready: metrics=0.0.0.0:9400 actor_id=3");
}

TEST(ServiceMainProcess, AnInvalidConfigFieldExitsTwoNamingTheField) {
  testing::CommandResult result = RunService("--set replay.max_size=0");
  EXPECT_EQ(result.exit_code, kExitBadConfig) << result.output;
  EXPECT_THAT(result.output, HasSubstr("ivg_minimal_service: invalid config"));
  EXPECT_THAT(result.output, HasSubstr("replay.max_size"));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("ready:")));
}

TEST(ServiceMainProcess, AnUnknownConfigFieldExitsTwo) {
  testing::CommandResult result = RunService("--set replay.no_such_field=1");
  EXPECT_EQ(result.exit_code, kExitBadConfig) << result.output;
  EXPECT_THAT(result.output, HasSubstr("no_such_field"));
}

TEST(ServiceMainProcess, AnUnknownFlagExitsTwoNamingIt) {
  testing::CommandResult result = RunService("--metrics_port=0");
  EXPECT_EQ(result.exit_code, kExitBadConfig) << result.output;
  EXPECT_THAT(result.output, HasSubstr("unknown flag --metrics_port"));
}

TEST(ServiceMainProcess, AMalformedAddressExitsTwo) {
  testing::CommandResult result = RunService("--metrics_address=9400");
  EXPECT_EQ(result.exit_code, kExitBadConfig) << result.output;
  EXPECT_THAT(result.output, HasSubstr("--metrics_address must be host:port"));
}

TEST(ServiceMainProcess, AddressIsAnErrorForAProcessWithoutGrpc) {
  testing::CommandResult result = RunService("--address=127.0.0.1:0");
  EXPECT_EQ(result.exit_code, kExitBadConfig) << result.output;
  EXPECT_THAT(result.output, HasSubstr("serves no gRPC"));
}

TEST(ServiceMainProcess, PrintsOneReadyLineWritesThePortFileAndStopsCleanlyOnSigterm) {
  const std::string dir = ::testing::TempDir();
  const std::string log = absl::StrCat(dir, "/minimal_service_", getpid(), ".log");
  const std::string port_file = absl::StrCat(dir, "/minimal_service_", getpid(), ".ports");
  std::filesystem::remove(port_file);
  testing::ChildProcess child(
      {kService, "--role_id=7", "--metrics_address=127.0.0.1:0", "--port_file=" + port_file}, log);
  std::string ready;
  for (int i = 0; i < 300 && ready.empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    for (absl::string_view line : absl::StrSplit(ReadFile(log), '\n')) {
      // The log repeats the line behind a glog prefix; stdout has it bare.
      if (absl::StartsWith(line, "ivg_minimal_service ready:")) ready = std::string(line);
    }
  }
  ASSERT_FALSE(ready.empty()) << ReadFile(log);
  EXPECT_THAT(ready, MatchesRegex("ivg_minimal_service ready: metrics=127\\.0\\.0\\.1:[1-9][0-9]* "
                                  "role_id=7"));
  const size_t port_at = ready.find("127.0.0.1:") + std::string("127.0.0.1:").size();
  const std::string metrics_port = ready.substr(port_at, ready.find(' ', port_at) - port_at);
  EXPECT_EQ(ReadFile(port_file), absl::StrCat("0 ", metrics_port, "\n"));
  EXPECT_EQ(child.SignalAndWait(SIGTERM, absl::Seconds(30)), kExitClean) << ReadFile(log);
}

}  // namespace
}  // namespace ivg
