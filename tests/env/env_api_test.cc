// The dm_env-style API: specs, resets, invalid actions, clipping, episodes, multi-task
// rewards, delayed proprioception, object features, MuJoCo error and warning handling.
#include <cmath>
#include <limits>

#include "env/model_proprio.h"
#include "env/mujoco_handles.h"
#include "env/sawyer_env.h"
#include "env/scene_xml.h"
#include "gtest/gtest.h"
#include "tests/env/mujoco_test_fixture.h"

namespace ivg::env {
namespace {

class EnvApi : public MujocoTest {
 protected:
  std::unique_ptr<SawyerEnv> Make(const EnvConfig& config, bool render = false) {
    auto env = SawyerEnv::Create(config, EnvOptions{render});
    EXPECT_TRUE(env.ok()) << env.status();
    return env.ok() ? std::move(*env) : nullptr;
  }
};

TEST_F(EnvApi, SpecDescribesObservationsAndActions) {
  auto env = Make(EnvConfig());
  ASSERT_NE(env, nullptr);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.pixels.shape, (std::vector<int>{6, 64, 64}));
  EXPECT_EQ(spec.proprio.shape, (std::vector<int>{17}));
  EXPECT_EQ(spec.object_state.shape, (std::vector<int>{32}));
  EXPECT_EQ(spec.action.shape, (std::vector<int>{5}));
  EXPECT_EQ(spec.action.minimum, -1);
  EXPECT_EQ(spec.action.maximum, 1);
  EXPECT_EQ(spec.tasks, (std::vector<Task>{LIFT_RED}));
}

TEST_F(EnvApi, ResetPlacesObjectsApartOnTheTableAndTheGripperAboveIt) {
  EnvConfig config;
  auto env = Make(config);
  ASSERT_NE(env, nullptr);
  for (uint64_t seed = 0; seed < 30; ++seed) {
    auto ts = env->Reset(seed);
    ASSERT_TRUE(ts.ok()) << ts.status();
    EXPECT_TRUE(ts->first);
    EXPECT_EQ(ts->step, 0);
    const Vec3 red = env->ObjectPosition(ObjectId::kRed);
    const Vec3 blue = env->ObjectPosition(ObjectId::kBlue);
    EXPECT_GE(std::hypot(red[0] - blue[0], red[1] - blue[1]), config.cube_side() * std::sqrt(2.0));
    for (const Vec3& p : {red, blue}) {
      EXPECT_LE(std::fabs(p[0]), config.table_width() / 2);
      EXPECT_LE(std::fabs(p[1]), config.table_length() / 2);
      EXPECT_NEAR(p[2], config.cube_side() / 2, 1e-6);
    }
    const double height = env->TcpPosition()[2] - scene::kTableTopZ;
    EXPECT_GE(height, config.start_height_min() - 0.01);
    EXPECT_LE(height, config.start_height_max() + 0.01);
    EXPECT_NEAR(ts->observation.proprio[kProprioFingerPos], scene::kFingerStroke, 1e-6);
    EXPECT_EQ(ts->observation.proprio[kProprioGrasp], 0.0f);
    EXPECT_GT(env->GripperDownCosine(), 0.999);
  }
}

TEST_F(EnvApi, RejectsInvalidActionsNamingTheProblem) {
  auto env = Make(EnvConfig());
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(env->Reset(0).ok());
  auto short_action = env->Step(std::vector<float>{0, 0, 0, 0});
  ASSERT_EQ(short_action.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(short_action.status().message().find("4 entries"), std::string::npos);
  auto nan = env->Step({0, 0, std::numeric_limits<float>::quiet_NaN(), 0, 0});
  ASSERT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("action[2]"), std::string::npos);
  auto inf = env->Step({0, 0, 0, 0, std::numeric_limits<float>::infinity()});
  ASSERT_EQ(inf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(inf.status().message().find("action[4]"), std::string::npos);
  // A rejected action does not advance the episode.
  auto ok = env->Step({0, 0, 0, 0, 0});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->step, 1);
}

TEST_F(EnvApi, ClipsAndCountsOutOfRangeActions) {
  auto a = Make(EnvConfig());
  auto b = Make(EnvConfig());
  ASSERT_TRUE(a->Reset(5).ok() && b->Reset(5).ok());
  EXPECT_EQ(a->clipped_action_count(), 0);
  ASSERT_TRUE(a->Step({0.5f, 0, 0, 0, 0}).ok());
  EXPECT_EQ(a->clipped_action_count(), 0);
  auto big = a->Step({3.0f, -2.0f, 0, 0, 0});
  auto unit = b->Step({0.5f, 0, 0, 0, 0});
  unit = b->Step({1.0f, -1.0f, 0, 0, 0});
  ASSERT_TRUE(big.ok() && unit.ok());
  EXPECT_EQ(a->clipped_action_count(), 1);
  EXPECT_EQ(b->clipped_action_count(), 0);
  EXPECT_EQ(big->observation.proprio, unit->observation.proprio);
}

TEST_F(EnvApi, EpisodesLastTheConfiguredStepsAndNeedAReset) {
  EnvConfig config;
  config.set_episode_steps(12);
  auto env = Make(config);
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->Step({0, 0, 0, 0, 0}).status().code(), absl::StatusCode::kFailedPrecondition);
  auto ts = env->Reset(1);
  ASSERT_TRUE(ts.ok());
  int steps = 0;
  while (!ts->last) {
    ts = env->Step({0, 0, 0, 0, 0});
    ASSERT_TRUE(ts.ok());
    ++steps;
    EXPECT_EQ(ts->step, steps);
  }
  EXPECT_EQ(steps, 12);
  EXPECT_EQ(env->Step({0, 0, 0, 0, 0}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(env->Reset(2).ok());
}

TEST_F(EnvApi, MultiTaskStepsReportEveryTaskRewardAndTheExecutedOne) {
  EnvConfig config;
  for (Task t : {REACH_RED, REACH_BLUE, LIFT_BLUE, STACK_BLUE, MOVE_BLUE}) {
    config.add_multitask_tasks(t);
  }
  auto env = Make(config);
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->spec().tasks.size(), 5u);
  EXPECT_EQ(env->SetTaskIndex(5).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(env->SetTaskIndex(1).ok());
  auto ts = env->Reset(3);
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->rewards.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ts = env->Step({0.3f, 0.2f, -0.5f, 0, 0});
    ASSERT_TRUE(ts.ok());
    ASSERT_EQ(ts->rewards.size(), 5u);
    EXPECT_EQ(ts->reward, ts->rewards[1]);
  }
  // REACH_RED and REACH_BLUE follow the distances to their cubes.
  const RewardConfig& r = config.reward();
  EXPECT_NEAR(ts->rewards[0], Reach(env->TcpPosition(), env->ObjectPosition(ObjectId::kRed), r),
              1e-5);
  EXPECT_NEAR(ts->rewards[1], Reach(env->TcpPosition(), env->ObjectPosition(ObjectId::kBlue), r),
              1e-5);
  ASSERT_TRUE(env->SetTaskIndex(3).ok());
  ts = env->Step({0, 0, 0, 0, 0});
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->reward, ts->rewards[3]);
}

TEST_F(EnvApi, RejectsUnimplementedTasksNamingTheField) {
  EnvConfig config;
  config.set_task(TASK_UNSPECIFIED);
  auto env = SawyerEnv::Create(config, EnvOptions{false});
  ASSERT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(env.status().message().find("env.task"), std::string::npos);
  config.set_task(LIFT_RED);
  config.add_multitask_tasks(REACH_RED);
  config.add_multitask_tasks(TASK_UNSPECIFIED);
  env = SawyerEnv::Create(config, EnvOptions{false});
  EXPECT_NE(env.status().message().find("env.multitask_tasks[1]"), std::string::npos);
}

TEST_F(EnvApi, DelayedProprioceptionLagsByTheConfiguredSteps) {
  EnvConfig delayed_config;
  delayed_config.set_proprio_delay_steps(2);
  auto now = Make(EnvConfig());
  auto delayed = Make(delayed_config);
  auto a = now->Reset(9);
  auto b = delayed->Reset(9);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::array<float, kProprioSize>> history = {a->observation.proprio};
  EXPECT_EQ(b->observation.proprio, a->observation.proprio);
  for (int i = 1; i <= 10; ++i) {
    const std::array<float, 5> action = {0.8f, -0.4f, 0.6f, 0.5f, 0.3f};
    a = now->Step(action);
    b = delayed->Step(action);
    ASSERT_TRUE(a.ok() && b.ok());
    history.push_back(a->observation.proprio);
    EXPECT_EQ(b->observation.proprio, history[std::max(0, i - 2)]) << "step " << i;
    EXPECT_EQ(b->rewards, a->rewards);  // rewards are never delayed
  }
  EXPECT_NE(history[10], history[8]);
}

TEST_F(EnvApi, ModelProprioAppendsEachObjectsOffsetFromTheTcpOnlyWhenConfigured) {
  auto env = Make(EnvConfig());
  auto ts = env->Reset(13);
  ASSERT_TRUE(ts.ok());
  EnvConfig plain;
  const std::vector<float> p = ModelProprio(ts->observation, plain);
  EXPECT_EQ(p, std::vector<float>(ts->observation.proprio.begin(),
                                  ts->observation.proprio.end()));
  EnvConfig with_offsets;
  with_offsets.set_proprio_with_object_offsets(true);
  const std::vector<float> q = ModelProprio(ts->observation, with_offsets);
  ASSERT_EQ(q.size(), static_cast<size_t>(kProprioSize + 2 * 3));
  const Vec3 tcp = env->TcpPosition();
  for (int k = 0; k < 2; ++k) {
    const Vec3 o = env->ObjectPosition(k == 0 ? ObjectId::kRed : ObjectId::kBlue);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(q[kProprioSize + 3 * k + i], o[i] - tcp[i], 1e-5);
  }
  for (int i = 0; i < kProprioSize; ++i) EXPECT_EQ(q[i], ts->observation.proprio[i]);
}

// From state the model reads the 17 features and every object's whole feature block, and
// no image.
TEST_F(EnvApi, StateObservationIsProprioThenEveryObjectsFeaturesAndNoImage) {
  auto env = Make(EnvConfig());
  auto ts = env->Reset(14);
  ASSERT_TRUE(ts.ok());
  EnvConfig state;
  state.set_observation(OBSERVATION_STATE);
  EXPECT_FALSE(ObservesPixels(state));
  EXPECT_TRUE(ObservesPixels(EnvConfig()));
  const std::vector<float> p = ModelProprio(ts->observation, state);
  ASSERT_EQ(p.size(), static_cast<size_t>(kProprioSize + 2 * kObjectFeatureSize));
  for (int i = 0; i < kProprioSize; ++i) EXPECT_EQ(p[i], ts->observation.proprio[i]);
  for (size_t i = 0; i < ts->observation.object_state.size(); ++i) {
    EXPECT_EQ(p[kProprioSize + i], ts->observation.object_state[i]) << i;
  }
  EXPECT_TRUE(ModelImage(ts->observation, state).empty());
  EXPECT_EQ(ModelImage(ts->observation, EnvConfig()).size(), ts->observation.pixels.size());
}

TEST_F(EnvApi, ObjectStateHoldsPoseVelocityAndOffsetFromTheTcp) {
  auto env = Make(EnvConfig());
  auto ts = env->Reset(12);
  ASSERT_TRUE(ts.ok());
  const std::vector<float>& s = ts->observation.object_state;
  ASSERT_EQ(s.size(), 2u * kObjectFeatureSize);
  const Vec3 tcp = env->TcpPosition();
  for (int k = 0; k < 2; ++k) {
    const Vec3 p = env->ObjectPosition(k == 0 ? ObjectId::kRed : ObjectId::kBlue);
    const float* o = s.data() + k * kObjectFeatureSize;
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(o[i], p[i], 1e-5);
      EXPECT_NEAR(o[13 + i], p[i] - tcp[i], 1e-5);
    }
    EXPECT_NEAR(o[3] * o[3] + o[4] * o[4] + o[5] * o[5] + o[6] * o[6], 1.0, 1e-5);
  }
}

TEST_F(EnvApi, ProprioceptionReportsJointsFingersAndGrasp) {
  auto env = Make(EnvConfig());
  ASSERT_TRUE(env->Reset(0).ok());
  auto ts = env->Step({0, 0, 0, 1, 0});
  ASSERT_TRUE(ts.ok());
  const ArmVector q = env->ArmJointPositions();
  for (int i = 0; i < kArmDof; ++i) EXPECT_FLOAT_EQ(ts->observation.proprio[i], q[i]);
  EXPECT_FLOAT_EQ(ts->observation.proprio[kProprioFingerPos], env->FingerOpening());
  EXPECT_LT(ts->observation.proprio[kProprioFingerVel], 0);  // closing
}

TEST(MujocoHandles, CompileErrorsBecomeInvalidArgument) {
  auto model = LoadModelFromXmlString(
      "<mujoco><worldbody><geom type='nonsense'/></worldbody></mujoco>", "a broken scene");
  ASSERT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("a broken scene"), std::string::npos);
}

TEST(MujocoHandles, WarningsAreRecordedForTheTestFixture) {
  InstallMujocoHandlers();
  ClearMujocoWarnings();
  mju_warning("test warning 1");
  EXPECT_EQ(MujocoWarningCount(), 1);
  ASSERT_EQ(MujocoWarnings().size(), 1u);
  EXPECT_NE(MujocoWarnings()[0].find("test warning 1"), std::string::npos);
  ClearMujocoWarnings();
}

TEST(MujocoHandles, ErrorsAreThrownToTheCallingModule) {
  InstallMujocoHandlers();
  EXPECT_THROW(mju_error("deliberate"), MujocoError);
}

}  // namespace
}  // namespace ivg::env
