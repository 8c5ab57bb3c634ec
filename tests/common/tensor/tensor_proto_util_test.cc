#include "common/tensor/tensor_proto_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg {
namespace {

using ::testing::HasSubstr;

TEST(TensorProtoUtil, AcceptsMatchingByteLength) {
  const Tensor tensor = MakeTensorProto(DTYPE_FLOAT32, {2, 3}, std::string(24, '\0'));
  EXPECT_TRUE(ValidateTensorProto(tensor, "t").ok());
}

TEST(TensorProtoUtil, RejectsWrongByteLengthNamingBoth) {
  const Tensor tensor = MakeTensorProto(DTYPE_FLOAT32, {2, 3}, std::string(23, '\0'));
  const absl::Status status = ValidateTensorProto(tensor, "tensor 'w'");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("tensor 'w'"));
  EXPECT_THAT(status.message(), HasSubstr("needs 24 bytes, got 23"));
}

TEST(TensorProtoUtil, RejectsUnknownAndUnspecifiedDtype) {
  Tensor unknown = MakeTensorProto(static_cast<DType>(99), {1}, "x");
  EXPECT_THAT(ValidateTensorProto(unknown, "t").message(), HasSubstr("unknown"));
  Tensor unspecified = MakeTensorProto(DTYPE_UNSPECIFIED, {1}, "x");
  EXPECT_FALSE(ValidateTensorProto(unspecified, "t").ok());
}

TEST(TensorProtoUtil, RejectsNegativeDimension) {
  const Tensor tensor = MakeTensorProto(DTYPE_UINT8, {-1, 4}, "");
  EXPECT_THAT(ValidateTensorProto(tensor, "t").message(), HasSubstr("negative"));
}

TEST(TensorProtoUtil, RejectsOverflowingShape) {
  const Tensor tensor = MakeTensorProto(DTYPE_FLOAT64, {1LL << 40, 1LL << 40}, "");
  EXPECT_THAT(ValidateTensorProto(tensor, "t").message(), HasSubstr("overflows"));
}

TEST(TensorProtoUtil, ScalarHasOneElement) {
  EXPECT_TRUE(ValidateTensorProto(MakeTensorProto(DTYPE_INT64, {}, std::string(8, 'a')), "t").ok());
}

TEST(TensorProtoUtil, ExpectTensorShapeReportsExpectedAndReceived) {
  const Tensor tensor = MakeTensorProto(DTYPE_UINT8, {16, 8, 6, 32, 32}, std::string(16 * 8 * 6 * 32 * 32, 0));
  EXPECT_TRUE(ExpectTensorShape(tensor, {-1, 8, 6, 32, 32}, DTYPE_UINT8, "images").ok());
  const absl::Status status = ExpectTensorShape(tensor, {16, 8, 6, 64, 64}, DTYPE_UINT8, "images");
  EXPECT_THAT(status.message(), HasSubstr("expected shape [16, 8, 6, 64, 64], got [16, 8, 6, 32, 32]"));
  EXPECT_THAT(ExpectTensorShape(tensor, {16, 8, 6, 32, 32}, DTYPE_FLOAT32, "images").message(),
              HasSubstr("expected dtype float32, got uint8"));
}

}  // namespace
}  // namespace ivg
