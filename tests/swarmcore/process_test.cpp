// run_process: exit codes, captured output, stdin, timeouts, missing programs.
#include <gtest/gtest.h>

#include "swarmcore/process.hpp"

using namespace swarmboot;

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(Process, FeedsStdin) {
  ProcessOptions o;
  o.stdin_data = "abc";
  auto r = run_checked({"cat"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "abc");
}

TEST(Process, TimesOut) {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto r = run_process({"sleep", "10"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
}

TEST(Process, MissingProgramAndFailureAreClear) {
  auto r = run_process({"/nonexistent/program"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not found"), std::string::npos);
  auto c = run_checked({"sh", "-c", "echo boom; exit 1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("boom"), std::string::npos);
}
