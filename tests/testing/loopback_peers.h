// Real peers of an actor or evaluator on loopback: a replay shard (its own redis-server,
// table and gRPC server) and a parameter server fed with a learner core's parameters.
#ifndef IVG_TESTS_TESTING_LOOPBACK_PEERS_H_
#define IVG_TESTS_TESTING_LOOPBACK_PEERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "gtest/gtest.h"
#include "services/param_server/parameter_service.h"
#include "services/param_server/parameter_store.h"
#include "services/replay/replay_service.h"
#include "services/replay/table_from_config.h"
#include "tests/services/replay/replay_test_util.h"
#include "tests/testing/learner_publish.h"

namespace ivg::testing {

// Starts both peers for configs/smoke.textproto (with `overrides`) and points config_'s
// addresses at them.
class LoopbackPeersTest : public ::testing::Test {
 protected:
  void StartPeers(const std::vector<std::string>& overrides = {}) {
    auto config =
        LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", overrides);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;

    redis_ = replay::testing::StartRedis(dir_.path() + "/redis");
    ASSERT_NE(redis_, nullptr);
    auto pool = replay::RedisConnectionPool::Create(redis_->connection_options(), 2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    replay::ReplayServiceOptions replay_options;
    replay_options.table = replay::TableOptionsFromConfig(config_);
    auto replay = replay::ReplayServiceImpl::Create(replay_options, pool_.get(), &registry_);
    ASSERT_TRUE(replay.ok()) << replay.status();
    replay_ = std::move(*replay);
    GrpcServerOptions replay_server;
    replay_server.max_message_bytes = 64 << 20;
    replay::ReplayServiceImpl* replay_ptr = replay_.get();
    replay_server.on_stop.push_back([replay_ptr] { replay_ptr->Close(); });
    auto replay_host = GrpcServerHost::Create(replay_server, {replay_.get()});
    ASSERT_TRUE(replay_host.ok()) << replay_host.status();
    replay_host_ = std::move(*replay_host);

    auto store = param_server::ParameterStore::Create("");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    params_ = std::make_unique<param_server::ParameterServiceImpl>(
        store_.get(), config_.cluster().publish_token(), &registry_,
        [](std::shared_ptr<const param_server::StoredParameters>) {});
    GrpcServerOptions params_server;
    params_server.max_message_bytes = 64 << 20;
    auto params_host = GrpcServerHost::Create(params_server, {params_.get()});
    ASSERT_TRUE(params_host.ok()) << params_host.status();
    params_host_ = std::move(*params_host);

    config_.mutable_replay()->clear_shard_addresses();
    config_.mutable_replay()->add_shard_addresses(replay_host_->address());
    config_.mutable_cluster()->set_param_server_address(params_host_->address());
    config_.mutable_cluster()->set_rpc_deadline_ms(5000);
  }

  void SetUp() override { StartPeers(); }

  // Publishes a fresh learner core's actor parameters as `version` at `learner_step`.
  void Publish(int64_t version, int64_t learner_step = 0) {
    PublishRequest request = FreshLearnerPublish(config_, version, /*include_model=*/false,
                                                 config_.cluster().publish_token());
    request.set_learner_step(learner_step);
    ASSERT_TRUE(PublishOverGrpc(params_host_->address(), request).ok());
  }

  TableInfo ReplayTable() {
    ServerInfoRequest request;
    ServerInfoResponse response;
    grpc::ServerContext context;
    EXPECT_TRUE(replay_->ServerInfo(&context, &request, &response).ok());
    EXPECT_EQ(response.tables_size(), 1);
    return response.tables_size() > 0 ? response.tables(0) : TableInfo();
  }

  replay::testing::TempDir dir_;
  ExperimentConfig config_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<replay::RedisProcess> redis_;
  std::unique_ptr<replay::RedisConnectionPool> pool_;
  std::unique_ptr<replay::ReplayServiceImpl> replay_;
  std::unique_ptr<GrpcServerHost> replay_host_;
  std::unique_ptr<param_server::ParameterStore> store_;
  std::unique_ptr<param_server::ParameterServiceImpl> params_;
  std::unique_ptr<GrpcServerHost> params_host_;
};

}  // namespace ivg::testing

#endif  // IVG_TESTS_TESTING_LOOPBACK_PEERS_H_
