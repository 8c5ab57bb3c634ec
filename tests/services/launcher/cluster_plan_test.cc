#include "services/launcher/cluster_plan.h"

#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

TEST(LearnerThreads, LearnersShareTheCoresWithoutOversubscribing) {
  EXPECT_EQ(LearnerThreads(/*cores=*/2, /*num_learners=*/2), 1);
  EXPECT_EQ(LearnerThreads(16, 2), 8);
  EXPECT_EQ(LearnerThreads(16, 3), 5);
  EXPECT_EQ(LearnerThreads(1, 2), 1);  // Never 0 threads.
  EXPECT_EQ(LearnerThreads(4, 0), 4);
}

TEST(AvailableCores, IsPositive) { EXPECT_GE(AvailableCores(), 1); }

}  // namespace
}  // namespace ivg::launcher
