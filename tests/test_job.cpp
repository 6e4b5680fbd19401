// The cost file that `rask run` writes and C++ programs read (rask::CostTable).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rask/error.hpp"
#include "rask/job.hpp"

namespace {

TEST(CostTable, MeansOfMeasuredCalls) {
  rask::CostTable costs;
  costs.add("inc", 0.3, 3);
  costs.add("inc", 0.1);
  EXPECT_DOUBLE_EQ(costs.seconds("inc"), 0.1);  // 0.4 s over 4 calls
  EXPECT_EQ(costs.seconds("missing"), -1);
  EXPECT_EQ(costs.seconds("missing", 0.02), 0.02);
}

TEST(CostTable, TextRoundTripsThroughAFile) {
  rask::CostTable costs;
  costs.add("f", 0.0202 * 81, 81);
  costs.add("g", 0.0302 * 81, 81);
  auto path = (std::filesystem::temp_directory_path() / "rask-test.rask-costs").string();
  costs.write(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto back = rask::CostTable::read(path);
  EXPECT_EQ(back.size(), 2u);
  EXPECT_NEAR(back.seconds("f"), 0.0202, 1e-9);
  EXPECT_NEAR(back.seconds("g"), 0.0302, 1e-9);
  EXPECT_EQ(back.text(), costs.text());
  std::filesystem::remove(path);
}

TEST(CostTable, MissingFileIsEmpty) {
  EXPECT_TRUE(rask::CostTable::read("/nonexistent/dir/job.rask-costs").empty());
}

TEST(CostTable, NewerEntriesReplaceOlder) {
  auto old_costs = rask::CostTable::parse("inc\t1\t10\nadd\t2\t5\n", "old");
  auto newer = rask::CostTable::parse("# comment\ninc\t0.5\t4\n", "new");
  old_costs.update(newer);
  EXPECT_EQ(old_costs.seconds("inc"), 0.5);
  EXPECT_EQ(old_costs.seconds("add"), 2);
}

TEST(CostTable, BadLineNamesFileAndLine) {
  try {
    rask::CostTable::parse("# header\ninc 0.5 3\nadd -1 2\n", "job.rask-costs");
    FAIL() << "no error";
  } catch (const rask::InputError& e) {
    EXPECT_STREQ(e.what(),
                 "job.rask-costs:3: expected 'name seconds calls' (seconds >= 0, calls > 0), got 'add -1 2'; fix the "
                 "line or delete the file (rask run writes it anew)");
    EXPECT_TRUE(e.collective());
  }
  EXPECT_THROW(rask::CostTable::parse("inc 0.5 3 extra\n", "x"), rask::InputError);
  EXPECT_THROW(rask::CostTable::parse("inc 0.5\n", "x"), rask::InputError);
}

TEST(CostTable, FileBesideTheScript) {
  EXPECT_EQ(rask::cost_file_for("jobs/delayed_cartesian.py"), "jobs/delayed_cartesian.rask-costs");
  EXPECT_EQ(rask::cost_file_for("run.sh"), "run.sh.rask-costs");
}

}  // namespace
