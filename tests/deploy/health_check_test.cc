// ivg_health_check (services/tools/health_check) against a real parameter server (the
// store, its gRPC service and the server host with the standard health service): the exit
// status container healthchecks rely on for SERVING, NOT_SERVING (draining) and unreachable.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/grpc/server_host.h"
#include "common/metrics/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/param_server/parameter_service.h"
#include "services/param_server/parameter_store.h"
#include "tests/testing/subprocess.h"

namespace ivg {
namespace {

using ::testing::HasSubstr;

const std::string kHealthCheck =
    absl::StrCat(IVG_BINARY_DIR, "/services/tools/health_check/ivg_health_check");

testing::CommandResult Check(const std::string& address) {
  return testing::RunCommand(
      absl::StrCat(kHealthCheck, " --address=", address, " --timeout_ms=2000"));
}

// A parameter server's gRPC front, as ivg_param_server serves it.
class ParameterServer {
 public:
  explicit ParameterServer(GrpcServerOptions options = {}) {
    state_dir_ = std::filesystem::path(::testing::TempDir()) /
                 absl::StrCat("health_check_", ::testing::UnitTest::GetInstance()->random_seed(),
                              "_", reinterpret_cast<uintptr_t>(this));
    auto store = param_server::ParameterStore::Create(state_dir_.string());
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return;
    store_ = std::move(*store);
    service_ = std::make_unique<param_server::ParameterServiceImpl>(
        store_.get(), "token", &registry_, /*on_publish=*/nullptr);
    auto host = GrpcServerHost::Create(std::move(options), {service_.get()});
    EXPECT_TRUE(host.ok()) << host.status();
    if (host.ok()) host_ = std::move(*host);
  }
  ~ParameterServer() {
    if (host_ != nullptr) host_->Stop(absl::Seconds(1));
    std::filesystem::remove_all(state_dir_);
  }
  GrpcServerHost* host() { return host_.get(); }

 private:
  std::filesystem::path state_dir_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<param_server::ParameterStore> store_;
  std::unique_ptr<param_server::ParameterServiceImpl> service_;
  std::unique_ptr<GrpcServerHost> host_;
};

TEST(HealthCheck, ExitsZeroWhileTheServerIsServing) {
  ParameterServer server;
  ASSERT_NE(server.host(), nullptr);
  const testing::CommandResult result = Check(server.host()->address());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(": SERVING"));
}

TEST(HealthCheck, ExitsOneWhileTheServerDrains) {
  // Stop() flips health to NOT_SERVING before it runs the on_stop hooks, and the server
  // still answers until they return: check from inside the hook.
  testing::CommandResult during_drain;
  std::string address;
  GrpcServerOptions options;
  options.on_stop.push_back([&] { during_drain = Check(address); });
  ParameterServer server(options);
  ASSERT_NE(server.host(), nullptr);
  address = server.host()->address();
  server.host()->Stop(absl::Seconds(1));
  EXPECT_EQ(during_drain.exit_code, 1) << during_drain.output;
  EXPECT_THAT(during_drain.output, HasSubstr("NOT_SERVING"));
}

TEST(HealthCheck, ExitsTwoWhenTheServerIsGone) {
  std::string address;
  {
    ParameterServer server;
    ASSERT_NE(server.host(), nullptr);
    address = server.host()->address();
  }
  const testing::CommandResult result = Check(address);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("health check failed"));
}

TEST(HealthCheck, MissingAddressIsAClearError) {
  const testing::CommandResult result = testing::RunCommand(kHealthCheck);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--address=host:port is required"));
}

}  // namespace
}  // namespace ivg
