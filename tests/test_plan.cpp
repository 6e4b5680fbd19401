#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <rask/rask.hpp>
#include <set>
#include <sstream>

namespace {

rask::Value one(const rask::Inputs&) { return rask::Value(1L); }

// n leaves, then a tree sum with fan-in 8 (the overhead benchmark, smaller).
rask::Graph map_tree(std::size_t n, std::vector<rask::TaskId>& root_out, double cost = -1) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  std::vector<rask::TaskId> level;
  rask::Token next = 1;
  for (std::size_t i = 0; i < n; ++i)
    level.push_back(g.add_task({"inc", next++, false}, {}, body, rask::codec_for<long>(), {.cost = cost}));
  while (level.size() > 1) {
    std::vector<rask::TaskId> up;
    for (std::size_t b = 0; b < level.size(); b += 8) {
      std::vector<rask::TaskId> group(level.begin() + static_cast<long>(b),
                                      level.begin() + static_cast<long>(std::min(b + 8, level.size())));
      up.push_back(g.add_task({"sum", next++, false}, group, body, rask::codec_for<long>(), {.cost = cost}));
    }
    level = up;
  }
  root_out = level;
  return g;
}

// Independently of the planner: every value a rank needs and does not make is sent there.
void expect_sends_cover_every_crossing_edge(const rask::Graph& g, const rask::Plan& plan) {
  for (rask::TaskId t : plan.order()) {
    ASSERT_GE(plan.owner(t), 0);
    ASSERT_LT(plan.owner(t), plan.nranks());
    for (rask::TaskId d : g.task(t).deps) {
      auto to = plan.send_to(d);
      bool crosses = plan.owner(d) != plan.owner(t);
      EXPECT_EQ(std::find(to.begin(), to.end(), plan.owner(t)) != to.end(), crosses);
    }
  }
  for (rask::TaskId out : plan.outputs())
    if (plan.owner(out) != 0) {
      auto to = plan.send_to(out);
      EXPECT_TRUE(std::find(to.begin(), to.end(), 0) != to.end());
    }
}

}  // namespace

TEST(Plan, IsDeterministic) {
  std::vector<rask::TaskId> root;
  auto g = map_tree(5000, root);
  rask::Plan a(g, root, 3, 2), b(g, root, 3, 2);
  for (rask::TaskId t = 0; t < g.size(); ++t) EXPECT_EQ(a.owner(t), b.owner(t));
  EXPECT_EQ(a.messages(), b.messages());
}

TEST(Plan, TreeReductionsStayLocalAndBalanced) {
  std::vector<rask::TaskId> root;
  auto g = map_tree(100000, root);
  for (int ranks : {2, 4, 7}) {
    rask::Plan plan(g, root, ranks, 1);
    expect_sends_cover_every_crossing_edge(g, plan);
    // Only groups straddling a rank boundary cross ranks: a few messages per rank and
    // tree level (6 levels here), never a number growing with the tasks.
    EXPECT_LE(plan.messages(), static_cast<std::size_t>(2 * ranks * 6)) << ranks << " ranks";
    const double share = static_cast<double>(g.size()) / ranks;
    for (int rank = 0; rank < ranks; ++rank) EXPECT_NEAR(static_cast<double>(plan.tasks_on(rank)), share, 0.05 * share);
  }
}

TEST(Plan, IndependentTasksOfUnequalCostBalanceByCost) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  std::vector<rask::TaskId> outs;
  double work = 0;
  for (int i = 0; i < 162; ++i) {
    double cost = i % 2 ? 0.030 : 0.020;
    work += cost;
    outs.push_back(g.add_task({"fg", rask::Token(i + 1), false}, {}, body, rask::codec_for<long>(), {.cost = cost}));
  }
  rask::Plan plan(g, outs, 2, 1);
  EXPECT_DOUBLE_EQ(plan.total_work(), work);
  EXPECT_LE(plan.predicted_seconds(), work / 2 * 1.02);
  rask::Plan threads(g, outs, 1, 2);
  EXPECT_LE(threads.predicted_seconds(), work / 2 * 1.02);
}

TEST(Plan, ChainsStayOnOneRank) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  rask::TaskId prev = g.add_task({"c", 1, false}, {}, body, rask::codec_for<long>(), {});
  for (rask::Token k = 2; k < 1000; ++k) prev = g.add_task({"c", k, false}, {prev}, body, rask::codec_for<long>(), {});
  rask::Plan plan(g, std::span(&prev, 1), 4, 1);
  EXPECT_LE(plan.messages(), 1u);  // at most the result, to rank 0
  EXPECT_NEAR(plan.critical_path(), 999 * 1e-6, 1e-12);  // 999 tasks of the default cost
}

TEST(Plan, PredictsTheIncAddExercise) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  auto x = g.add_task({"inc", 1, false}, {}, body, rask::codec_for<long>(), {.cost = 1});
  auto y = g.add_task({"inc", 2, false}, {}, body, rask::codec_for<long>(), {.cost = 1});
  auto z = g.add_task({"add", 3, false}, {x, y}, body, rask::codec_for<long>(), {.cost = 1});
  EXPECT_NEAR(rask::Plan(g, std::span(&z, 1), 1, 1).predicted_seconds(), 3.0, 1e-9);
  EXPECT_NEAR(rask::Plan(g, std::span(&z, 1), 1, 2).predicted_seconds(), 2.0, 1e-9);
  rask::Plan two(g, std::span(&z, 1), 2, 1);
  EXPECT_NEAR(two.predicted_seconds(), 2.0, 1e-3);
  EXPECT_NE(two.owner(x), two.owner(y));
  std::ostringstream text;
  two.print(text);
  EXPECT_NE(text.str().find("plan: 3 tasks on 2 ranks x 1 thread"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("between ranks: 1 message"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("predicted wall time 2.000 s (serial 3.000 s, ideal 2.000 s on 2 workers)"),
            std::string::npos)
      << text.str();
}

TEST(Plan, MoreRanksThanTasks) {
  std::vector<rask::TaskId> root;
  auto g = map_tree(3, root);
  rask::Plan plan(g, root, 16, 1);
  expect_sends_cover_every_crossing_edge(g, plan);
  std::size_t total = 0;
  for (int rank = 0; rank < 16; ++rank) total += plan.tasks_on(rank);
  EXPECT_EQ(total, 4u);
}

TEST(Plan, CulledTasksHaveNoOwner) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  auto used = g.add_task({"u", 1, false}, {}, body, rask::codec_for<long>(), {});
  auto unused = g.add_task({"n", 2, false}, {}, body, rask::codec_for<long>(), {});
  rask::Plan plan(g, std::span(&used, 1), 2, 1);
  EXPECT_EQ(plan.owner(unused), -1);
  EXPECT_EQ(plan.order().size(), 1u);
}

TEST(Plan, PinsAreHonouredModuloTheRankCount) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  std::vector<rask::TaskId> outs;
  for (int part = 0; part < 6; ++part)
    outs.push_back(g.add_task({"p", rask::Token(part + 1), false}, {}, body, rask::codec_for<long>(), {.owner = part}));
  rask::Plan plan(g, outs, 4, 1);
  for (int part = 0; part < 6; ++part) EXPECT_EQ(plan.owner(outs[static_cast<std::size_t>(part)]), part % 4);
}

struct Local {
  int x;
};

TEST(Plan, UnserializableValuesPullTheirConsumers) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  std::vector<rask::TaskId> outs;
  for (rask::Token k = 1; k <= 20; ++k) {
    auto made = g.add_task({"make", k, false}, {}, body, rask::codec_for<Local>(), {});
    outs.push_back(g.add_task({"use", k + 100, false}, {made}, body, rask::codec_for<long>(), {}));
  }
  rask::Plan plan(g, outs, 4, 1);
  for (auto out : outs) EXPECT_EQ(plan.owner(out), plan.owner(g.task(out).deps[0]));
  expect_sends_cover_every_crossing_edge(g, plan);
}

TEST(Plan, UnserializableValuesPinnedApartAreAnError) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  auto made = g.add_task({"make", 1, false}, {}, body, rask::codec_for<Local>(), {.owner = 1});
  auto used = g.add_task({"use", 2, false}, {made}, body, rask::codec_for<long>(), {.owner = 0});
  try {
    rask::Plan plan(g, std::span(&used, 1), 2, 1);
    FAIL();
  } catch (const rask::PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "task 'make-0000000000000001' (Local) must run on rank 1 but 'use-0000000000000002' (long) is "
                 "pinned to rank 0, and they share a value with no rask::Serializer. Possible fixes: specialize "
                 "rask::Serializer for the type, or pin them to one rank");
  }
  try {
    rask::Plan plan(g, std::span(&made, 1), 2, 1, rask::Where::all);
    FAIL();
  } catch (const rask::PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "result 'make-0000000000000001' (Local) cannot be sent to every rank: its type has no "
                 "rask::Serializer. Possible fixes: specialize rask::Serializer<Local>, or compute it on rank 0 "
                 "only (Where::root)");
  }
}

TEST(Plan, AConsumerStaysWithItsBiggestInput) {
  // Two inputs made on different ranks; moving the big one would cost 0.2 s.
  for (bool first_is_big : {true, false}) {
    rask::Graph g;
    auto body = std::make_shared<const rask::TaskBody>(one);
    auto a = g.add_task({"a", 1, false}, {}, body, rask::codec_for<long>(),
                        {.cost = 1, .bytes = first_is_big ? 1e9 : 8, .owner = 0});
    auto b = g.add_task({"b", 2, false}, {}, body, rask::codec_for<long>(),
                        {.cost = 1, .bytes = first_is_big ? 8 : 1e9, .owner = 1});
    auto c = g.add_task({"c", 3, false}, {a, b}, body, rask::codec_for<long>(), {.cost = 1});
    rask::Plan plan(g, std::span(&c, 1), 2, 1);
    EXPECT_EQ(plan.owner(c), first_is_big ? 0 : 1);
    EXPECT_NEAR(plan.bytes_crossing(), 8 + (first_is_big ? 0 : 8), 1e-9) << "input moved, then the result to rank 0";
  }
}

TEST(Plan, IdleRanksTakeWorkWhenMovingItIsCheap) {
  // One small root feeding 100 independent one-second tasks: they spread over the ranks.
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  auto root = g.add_task({"load", 1, false}, {}, body, rask::codec_for<long>(), {.cost = 0.01});
  std::vector<rask::TaskId> outs;
  for (rask::Token k = 2; k < 102; ++k)
    outs.push_back(g.add_task({"work", k, false}, {root}, body, rask::codec_for<long>(), {.cost = 1}));
  rask::Plan plan(g, outs, 4, 1);
  for (int rank = 0; rank < 4; ++rank) EXPECT_NEAR(static_cast<double>(plan.tasks_on(rank)), 25.0, 1.5);
  EXPECT_LT(plan.predicted_seconds(), 26.0);
  expect_sends_cover_every_crossing_edge(g, plan);
}

// 200,000 leaves into one sum: spreading the leaves costs the consumer one value per
// leaf. Whatever the rank count, the plan is never predicted slower than keeping every
// task on one rank, and with expensive messages it keeps them there.
TEST(Plan, NeverPredictedSlowerThanOneRank) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>(one);
  std::vector<rask::TaskId> leaves;
  for (rask::Token token = 1; token <= 200000; ++token)
    leaves.push_back(g.add_task({"inc", token, false}, {}, body, rask::codec_for<long>(), {}));
  rask::TaskId sum = g.add_task({"sum", 300000, false}, leaves, body, rask::codec_for<long>(), {});
  std::vector<rask::TaskId> outs{sum};
  for (double message_cost : {2e-7, 1e-6, 5e-6}) {
    rask::CostModel model;
    model.message_cost = message_cost;
    for (int threads : {1, 2}) {
      rask::Plan alone(g, outs, 1, threads, rask::Where::root, model);
      for (int ranks : {2, 3, 4}) {
        rask::Plan plan(g, outs, ranks, threads, rask::Where::root, model);
        EXPECT_LE(plan.predicted_seconds(), alone.predicted_seconds() * (1 + 1e-12))
            << ranks << " ranks x " << threads << " threads, message cost " << message_cost;
        if (message_cost >= 5e-6) {
          EXPECT_EQ(plan.messages(), 0u) << ranks << " ranks";
        }
        expect_sends_cover_every_crossing_edge(g, plan);
      }
    }
  }
}

// The memory model, against counts made by hand.
namespace {
rask::TaskId sized(rask::Graph& g, const char* name, std::vector<rask::TaskId> deps, double bytes, int owner = -1,
                   bool collective = false) {
  static auto body = std::make_shared<const rask::TaskBody>(one);
  return g.add_task({name, rask::token_bytes(name, std::strlen(name)), true}, std::move(deps), body, rask::codec_for<long>(),
                    {.bytes = bytes, .owner = owner, .collective = collective});
}
}  // namespace

TEST(PlanMemory, PeakOnOneRankIsTheHandCount) {
  // a(100) b(200) -> c(50); d(400); e(10) = f(c, d). In order a b c d e the values held
  // are: 100, 300, 350 then a and b go (50), 450, 460 then c and d go; e is the result.
  rask::Graph g;
  auto a = sized(g, "a", {}, 100), b = sized(g, "b", {}, 200);
  auto c = sized(g, "c", {a, b}, 50);
  auto d = sized(g, "d", {}, 400);
  auto e = sized(g, "e", {c, d}, 10);
  std::vector<rask::TaskId> out{e};
  rask::Plan p(g, out, 1, 1);
  ASSERT_EQ(std::vector<rask::TaskId>(p.order().begin(), p.order().end()), (std::vector<rask::TaskId>{a, b, c, d, e}));
  EXPECT_DOUBLE_EQ(p.predicted_peak_bytes(0), 460);
}

TEST(PlanMemory, PeakPerRankCountsSentAndReceivedValues) {
  // Rank 0: x(1000) -> y(10), y sent to rank 1 and not kept (1010 at once). Rank 1:
  // z(300) then w(5) = f(y, z): y arrives before w runs: 300 + 10 + 5 = 315, and the
  // result w travels to rank 0 (held there from when it is made: 5 more on rank 0, after
  // x and y have gone).
  rask::Graph g;
  auto x = sized(g, "x", {}, 1000, 0);
  auto y = sized(g, "y", {x}, 10, 0);
  auto z = sized(g, "z", {}, 300, 1);
  auto w = sized(g, "w", {y, z}, 5, 1);
  std::vector<rask::TaskId> out{w};
  rask::Plan p(g, out, 2, 1);
  EXPECT_DOUBLE_EQ(p.predicted_peak_bytes(0), 1010);
  EXPECT_DOUBLE_EQ(p.predicted_peak_bytes(1), 315);
  std::ostringstream text;
  p.print(text);
  EXPECT_NE(text.str().find("peak memory"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("1.0 KB"), std::string::npos) << text.str();
}

TEST(PlanMemory, BytesReadAsPeopleReadThem) {
  EXPECT_EQ(rask::format_bytes(512), "512 B");
  EXPECT_EQ(rask::format_bytes(3.2e6), "3.2 MB");
  EXPECT_EQ(rask::format_bytes(1.5e9), "1.5 GB");
}

TEST(PlanCollective, RunsOnEveryRankAndMovesNothing) {
  // p0 on rank 0 and p1 on rank 1 feed a collective; q on rank 1 reads its piece.
  rask::Graph g;
  auto p0 = sized(g, "p0", {}, 8, 0), p1 = sized(g, "p1", {}, 8, 1);
  auto all = sized(g, "all", {p0, p1}, 64, -1, true);
  auto q = sized(g, "q", {all}, 8, 1);
  std::vector<rask::TaskId> out{q};
  rask::Plan p(g, out, 2, 2);
  EXPECT_TRUE(p.collective(all));
  EXPECT_FALSE(p.collective(q));
  EXPECT_TRUE(p.runs_on(all, 0) && p.runs_on(all, 1));
  EXPECT_EQ(p.collectives().size(), 1u);
  EXPECT_TRUE(p.send_to(p0).empty());  // a collective reads only its own rank's inputs
  EXPECT_TRUE(p.send_to(all).empty()); // and each rank reads its own piece of its value
  EXPECT_EQ(std::vector<int>(p.send_to(q).begin(), p.send_to(q).end()), std::vector<int>{0});
  EXPECT_EQ(p.tasks_on(0), 2u);
  EXPECT_EQ(p.tasks_on(1), 3u);
  // Each rank holds its own piece: rank 0 holds p0 and its piece (8 + 64), then only
  // q's result arriving; rank 1 holds p1 and its piece (72), then its piece and q (72).
  EXPECT_DOUBLE_EQ(p.predicted_peak_bytes(0), 72);
  EXPECT_DOUBLE_EQ(p.predicted_peak_bytes(1), 72);
}

TEST(PlanCollective, CannotAlsoBePinned) {
  rask::Graph g;
  try {
    sized(g, "both", {}, 8, 1, true);
    FAIL() << "no error";
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "task 'both' is collective (every rank runs it) and also pinned to rank 1; drop one of "
                           "TaskOptions::collective and TaskOptions::owner");
  }
}
