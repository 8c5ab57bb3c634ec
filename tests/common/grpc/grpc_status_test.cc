#include "common/grpc/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace ivg {
namespace {

TEST(GrpcStatus, OkConvertsBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatus, EveryCanonicalCodeAndMessageSurvivesARoundTrip) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status original(static_cast<absl::StatusCode>(code),
                                "shard 1: episode 7 has 3 steps, needs 8");
    const grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "shard 1: episode 7 has 3 steps, needs 8");
    EXPECT_EQ(FromGrpcStatus(wire), original);
  }
}

TEST(GrpcStatus, AHugeMessageIsCutSoThatClientsStillSeeTheCode) {
  const std::string name(100000, 'x');
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("unknown table '" + name + "'"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(status.error_message().size(), 2200u);
  EXPECT_NE(status.error_message().find("(100016 bytes, truncated)"), std::string::npos)
      << status.error_message().substr(2000);
}

TEST(GrpcStatus, GrpcToAbslKeepsCodeAndMessage) {
  const grpc::Status wire(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  const absl::Status status = FromGrpcStatus(wire);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "Deadline Exceeded");
}

}  // namespace
}  // namespace ivg
