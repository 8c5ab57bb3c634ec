#include "services/launcher/process_supervisor.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

std::string LogDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/supervisor_", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

pid_t PidOf(const ProcessSupervisor& supervisor, const std::string& name) {
  for (const ProcessStatus& status : supervisor.Statuses()) {
    if (status.name == name) return status.pid;
  }
  return 0;
}

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

// Polls until `condition` holds or 20 s pass.
template <typename Condition>
bool Eventually(ProcessSupervisor& supervisor, Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    supervisor.Poll();
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST(ProcessSupervisor, RestartsAProcessKilledWithSigkill) {
  ProcessSupervisor supervisor(LogDir("restart"), /*initial_backoff=*/absl::Milliseconds(50));
  ASSERT_TRUE(supervisor.Start({"sleeper", {"sleep", "600"}}).ok());
  const pid_t first = PidOf(supervisor, "sleeper");
  ASSERT_GT(first, 0);
  ASSERT_TRUE(supervisor.Signal("sleeper", SIGKILL).ok());
  ASSERT_TRUE(Eventually(supervisor, [&] {
    const pid_t now = PidOf(supervisor, "sleeper");
    return now > 0 && now != first;
  }));
  EXPECT_EQ(supervisor.Statuses()[0].starts, 2);
  EXPECT_EQ(supervisor.Statuses()[0].last_exit_code, -SIGKILL);
  supervisor.StopAll(absl::Seconds(5));
}

TEST(ProcessSupervisor, DoesNotRestartProcessesMarkedOneShot) {
  ProcessSupervisor supervisor(LogDir("oneshot"), absl::Milliseconds(10));
  ASSERT_TRUE(supervisor.Start({"true", {"true"}, /*restart=*/false}).ok());
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "true") == 0; }));
  absl::SleepFor(absl::Milliseconds(100));
  supervisor.Poll();
  EXPECT_EQ(supervisor.Statuses()[0].starts, 1);
}

ProcessSpec GroupMember(const std::string& name, std::vector<std::string> argv,
                        const std::string& group) {
  ProcessSpec spec{name, std::move(argv)};
  spec.restart_group = group;
  return spec;
}

TEST(ProcessSupervisor, AFailedMemberTakesItsRestartGroupDownAndAllRestart) {
  ProcessSupervisor supervisor(LogDir("group"), /*initial_backoff=*/absl::Milliseconds(50));
  ASSERT_TRUE(supervisor.Start(GroupMember("rank-0", {"sleep", "600"}, "pair")).ok());
  ASSERT_TRUE(supervisor.Start(GroupMember("rank-1", {"sleep", "600"}, "pair")).ok());
  ASSERT_TRUE(supervisor.Start({"bystander", {"sleep", "600"}}).ok());
  const pid_t rank0 = PidOf(supervisor, "rank-0");
  const pid_t rank1 = PidOf(supervisor, "rank-1");
  const pid_t bystander = PidOf(supervisor, "bystander");
  ASSERT_TRUE(supervisor.Signal("rank-1", SIGKILL).ok());
  // Both ranks come back as new processes; the process outside the group is untouched.
  ASSERT_TRUE(Eventually(supervisor, [&] {
    const pid_t now0 = PidOf(supervisor, "rank-0"), now1 = PidOf(supervisor, "rank-1");
    return now0 > 0 && now0 != rank0 && now1 > 0 && now1 != rank1;
  }));
  EXPECT_FALSE(Alive(rank0));
  EXPECT_EQ(PidOf(supervisor, "bystander"), bystander);
  // The member killed with its group does not take the group down again: after both
  // restarted once, each has started exactly twice.
  absl::SleepFor(absl::Milliseconds(300));
  supervisor.Poll();
  for (const ProcessStatus& status : supervisor.Statuses()) {
    EXPECT_EQ(status.starts, status.name == "bystander" ? 1 : 2) << status.name;
  }
  supervisor.StopAll(absl::Seconds(5));
}

TEST(ProcessSupervisor, AMemberThatExitsCleanlyLeavesItsGroupRunning) {
  ProcessSupervisor supervisor(LogDir("group_clean"), /*initial_backoff=*/absl::Seconds(30));
  ASSERT_TRUE(supervisor.Start(GroupMember("done", {"true"}, "pair")).ok());
  ASSERT_TRUE(supervisor.Start(GroupMember("working", {"sleep", "600"}, "pair")).ok());
  const pid_t working = PidOf(supervisor, "working");
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "done") == 0; }));
  supervisor.Poll();
  EXPECT_EQ(PidOf(supervisor, "working"), working);
  EXPECT_TRUE(Alive(working));
  supervisor.StopAll(absl::Seconds(5));
}

TEST(ProcessSupervisor, StopAllEscalatesToSigkillAndLeavesNothingRunning) {
  ProcessSupervisor supervisor(LogDir("stop"));
  // One child ignores SIGTERM, so StopAll must escalate after the grace period.
  ASSERT_TRUE(supervisor.Start({"stubborn", {"sh", "-c", "trap '' TERM; sleep 600"}}).ok());
  ASSERT_TRUE(supervisor.Start({"polite", {"sleep", "600"}}).ok());
  const pid_t stubborn = PidOf(supervisor, "stubborn");
  const pid_t polite = PidOf(supervisor, "polite");
  absl::SleepFor(absl::Milliseconds(200));  // Let the shell install its trap.
  supervisor.StopAll(absl::Milliseconds(300));
  EXPECT_FALSE(Alive(stubborn));
  EXPECT_FALSE(Alive(polite));
  for (const ProcessStatus& status : supervisor.Statuses()) EXPECT_EQ(status.pid, 0);
}

// A producer's last work must reach the servers it talks to (an actor's last episodes, a
// learner's last publish): a stage gets SIGTERM only once every process of the stages above
// it has exited.
TEST(ProcessSupervisor, StopAllStopsAStageOnlyOnceTheStagesAboveItExited) {
  const std::string dir = LogDir("stages");
  const std::string server_stopped = dir + "/server_stopped";
  const std::string producer_saw = dir + "/producer_saw";
  ProcessSupervisor supervisor(dir);
  // The server (stage 0) marks when it gets SIGTERM.
  const std::string server =
      absl::StrCat("trap 'touch ", server_stopped, "; exit 0' TERM; while :; do sleep 0.05; done");
  // The producer (stage 1) takes 300 ms to finish after SIGTERM, then records whether the
  // server was still up.
  const std::string producer = absl::StrCat(
      "trap 'sleep 0.3; if [ -e ", server_stopped, " ]; then echo down; else echo up; fi > ",
      producer_saw, "; exit 0' TERM; while :; do sleep 0.05; done");
  ASSERT_TRUE(supervisor.Start({"server", {"sh", "-c", server}, true, /*stage=*/0}).ok());
  ASSERT_TRUE(supervisor.Start({"producer", {"sh", "-c", producer}, true, /*stage=*/1}).ok());
  absl::SleepFor(absl::Milliseconds(200));  // Let the shells install their traps.
  supervisor.StopAll(absl::Seconds(5));
  std::ifstream in(producer_saw);
  std::string saw;
  in >> saw;
  EXPECT_EQ(saw, "up");
  EXPECT_TRUE(std::filesystem::exists(server_stopped));
  for (const ProcessStatus& status : supervisor.Statuses()) EXPECT_EQ(status.pid, 0);
}

TEST(ProcessSupervisor, WritesEachProcessOutputToItsLog) {
  const std::string dir = LogDir("logs");
  ProcessSupervisor supervisor(dir);
  ASSERT_TRUE(supervisor.Start({"echo", {"sh", "-c", "echo hello from child; echo oops >&2"},
                                /*restart=*/false})
                  .ok());
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "echo") == 0; }));
  std::ifstream log(dir + "/echo.log");
  std::stringstream content;
  content << log.rdbuf();
  EXPECT_NE(content.str().find("hello from child"), std::string::npos);
  EXPECT_NE(content.str().find("oops"), std::string::npos);
}

TEST(ProcessSupervisor, ChildrenGetTheirEnvironmentUnlessTheLauncherSetsTheVariable) {
  const std::string dir = LogDir("environment");
  // The launcher's own setting wins over the planned one (a user's override).
  ASSERT_EQ(setenv("IVG_TEST_USER_SET", "from-user", /*overwrite=*/1), 0);
  unsetenv("IVG_TEST_PLANNED");
  ProcessSupervisor supervisor(dir);
  ASSERT_TRUE(supervisor
                  .Start({"env", {"sh", "-c", "echo planned=$IVG_TEST_PLANNED user=$IVG_TEST_USER_SET"},
                          /*restart=*/false, /*stage=*/0,
                          {"IVG_TEST_PLANNED=2", "IVG_TEST_USER_SET=from-plan"}})
                  .ok());
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "env") == 0; }));
  std::ifstream log(dir + "/env.log");
  std::stringstream content;
  content << log.rdbuf();
  EXPECT_NE(content.str().find("planned=2 user=from-user"), std::string::npos) << content.str();
  unsetenv("IVG_TEST_USER_SET");
}

TEST(ProcessSupervisor, AChildStartsWithItsNiceness) {
  const std::string dir = LogDir("nice");
  ProcessSupervisor supervisor(dir);
  ASSERT_TRUE(supervisor
                  .Start({"niced", {"sh", "-c", "echo niceness=$(nice)"}, /*restart=*/false,
                          /*stage=*/0, /*environment=*/{}, /*nice=*/7})
                  .ok());
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "niced") == 0; }));
  std::ifstream log(dir + "/niced.log");
  std::stringstream content;
  content << log.rdbuf();
  EXPECT_NE(content.str().find("niceness=7"), std::string::npos) << content.str();
}

TEST(ProcessSupervisor, UnknownBinaryExitsAndIsReportedNotFatal) {
  ProcessSupervisor supervisor(LogDir("missing"), absl::Milliseconds(10));
  ASSERT_TRUE(supervisor.Start({"missing", {"/nonexistent/binary"}, /*restart=*/false}).ok());
  ASSERT_TRUE(Eventually(supervisor, [&] { return PidOf(supervisor, "missing") == 0; }));
  EXPECT_EQ(supervisor.Statuses()[0].last_exit_code, 127);
}

}  // namespace
}  // namespace ivg::launcher
