#include "common/tensor/tensor_codec.h"

#include <ATen/ATen.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg {
namespace {

using ::testing::HasSubstr;

TEST(TensorCodec, RoundTripsFloat32Exactly) {
  at::manual_seed(7);
  const at::Tensor original = at::randn({3, 4, 5});
  Tensor proto;
  ASSERT_TRUE(TensorToProto(original, &proto).ok());
  EXPECT_EQ(proto.dtype(), DTYPE_FLOAT32);
  EXPECT_EQ(proto.data().size(), 3u * 4 * 5 * 4);
  auto decoded = TensorFromProto(proto);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(at::equal(*decoded, original));
}

TEST(TensorCodec, RoundTripsUint8Exactly) {
  const at::Tensor original = at::randint(0, 256, {6, 8, 8}, at::TensorOptions().dtype(at::kByte));
  Tensor proto;
  ASSERT_TRUE(TensorToProto(original, &proto).ok());
  auto decoded = TensorFromProto(proto);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(*decoded, original));
}

TEST(TensorCodec, EncodesNonContiguousTensorsInLogicalOrder) {
  const at::Tensor base = at::arange(6, at::TensorOptions().dtype(at::kFloat)).reshape({2, 3});
  const at::Tensor transposed = base.t();
  Tensor proto;
  ASSERT_TRUE(TensorToProto(transposed, &proto).ok());
  auto decoded = TensorFromProto(proto);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(at::equal(*decoded, transposed));
}

TEST(TensorCodec, RejectsWrongByteLength) {
  Tensor proto;
  ASSERT_TRUE(TensorToProto(at::zeros({4}), &proto).ok());
  proto.mutable_data()->pop_back();
  auto decoded = TensorFromProto(proto, "tensor 'x'");
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("tensor 'x'"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("needs 16 bytes, got 15"));
}

TEST(TensorCodec, RejectsUnknownDtype) {
  Tensor proto;
  proto.set_dtype(static_cast<DType>(42));
  proto.add_shape(1);
  proto.set_data("abcd");
  EXPECT_FALSE(TensorFromProto(proto).ok());
}

TEST(TensorCodec, DecodedTensorOwnsItsMemory) {
  auto proto = std::make_unique<Tensor>();
  ASSERT_TRUE(TensorToProto(at::full({8}, 3.5f), proto.get()).ok());
  auto decoded = TensorFromProto(*proto);
  proto.reset();
  ASSERT_TRUE(decoded.ok());
  EXPECT_FLOAT_EQ(decoded->sum().item<float>(), 28.0f);
}

TEST(TensorCodec, NamedTensorsPreserveOrderAndRejectDuplicates) {
  NamedTorchTensors tensors = {{"b", at::ones({2})}, {"a", at::zeros({1, 2})}};
  NamedTensors proto;
  ASSERT_TRUE(NamedTensorsToProto(tensors, &proto).ok());
  auto decoded = NamedTensorsFromProto(proto);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].first, "b");
  EXPECT_TRUE(at::equal((*decoded)[1].second, tensors[1].second));

  *proto.add_tensors() = proto.tensors(0);
  auto duplicate = NamedTensorsFromProto(proto);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_THAT(duplicate.status().message(), HasSubstr("'b' appears twice"));
}

}  // namespace
}  // namespace ivg
