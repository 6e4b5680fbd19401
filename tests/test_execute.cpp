// The executor on hand-built graphs at 1, 2 and 4 ranks: random DAGs against a plain
// sequential evaluation, Dask-dict graphs, and the errors a graph can raise.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <rask/rask.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

rask::Runtime& rt() { return rask::Runtime::current(); }

struct RandomDag {
  std::vector<std::vector<std::uint32_t>> deps;
  std::vector<double> cost;
};

// A seeded DAG: each task depends on up to `fan_in` earlier tasks, mostly nearby ones
// (as map/reduce stages do) and sometimes far ones (irregular edges).
RandomDag random_dag(std::uint32_t n, std::uint32_t fan_in, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  RandomDag dag;
  dag.deps.resize(n);
  dag.cost.resize(n);
  for (std::uint32_t t = 0; t < n; ++t) {
    std::uint32_t k = t == 0 ? 0 : static_cast<std::uint32_t>(gen() % (fan_in + 1));
    for (std::uint32_t dep_idx = 0; dep_idx < k; ++dep_idx) {
      std::uint32_t d = gen() % 4 == 0 ? static_cast<std::uint32_t>(gen() % t)
                                       : t - 1 - static_cast<std::uint32_t>(gen() % std::min<std::uint32_t>(t, 16));
      if (std::find(dag.deps[t].begin(), dag.deps[t].end(), d) == dag.deps[t].end()) dag.deps[t].push_back(d);
    }
    dag.cost[t] = static_cast<double>(gen() % 100) * 1e-6;
  }
  return dag;
}

// Built by append: GCC 12 warns (falsely, -Wrestrict) on key_of(t).
std::string key_of(std::uint32_t t) {
  std::string key = "t";
  key += std::to_string(t);
  return key;
}

std::uint64_t combine(std::uint64_t t, const std::vector<std::uint64_t>& inputs) {
  std::uint64_t v = t * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < inputs.size(); ++i) v = (v ^ inputs[i]) * 0x100000001b3ull + i;
  return v;
}

}  // namespace

TEST(Execute, RandomDagsMatchASequentialEvaluation) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const std::uint32_t n = 3000;
    RandomDag dag = random_dag(n, 5, seed);
    // The plain evaluation, in index order (every dependency has a lower index).
    std::vector<std::uint64_t> expected(n);
    for (std::uint32_t t = 0; t < n; ++t) {
      std::vector<std::uint64_t> in;
      for (auto d : dag.deps[t]) in.push_back(expected[d]);
      expected[t] = combine(t, in);
    }
    rask::Graph graph;
    for (std::uint32_t t = 0; t < n; ++t) {
      std::vector<std::string> dep_keys;
      for (auto d : dag.deps[t]) dep_keys.push_back(key_of(d));
      graph.add<std::uint64_t>(
          key_of(t), dep_keys,
          [t](const rask::Inputs& in) {
            std::vector<std::uint64_t> values;
            for (std::size_t i = 0; i < in.size(); ++i) values.push_back(in.get<std::uint64_t>(i));
            return combine(t, values);
          },
          {.cost = dag.cost[t]});
    }
    graph.finalize();
    // Every 97th task is an output, plus the last.
    std::vector<rask::TaskId> outputs;
    for (std::uint32_t t = 0; t < n; t += 97) outputs.push_back(graph.at(key_of(t)));
    outputs.push_back(graph.at(key_of(n - 1)));
    auto values = rt().compute(graph, outputs, rask::Where::all);
    ASSERT_EQ(values.size(), outputs.size());
    for (std::size_t i = 0; i + 1 < outputs.size(); ++i)
      EXPECT_EQ(values[i].get<std::uint64_t>(), expected[i * 97]) << "seed " << seed << " task t" << i * 97;
    EXPECT_EQ(values.back().get<std::uint64_t>(), expected[n - 1]);
  }
}

TEST(Execute, DaskDictGraphsResolveKeysInAnyOrder) {
  rask::Graph graph;
  graph.add<int>("total", {"a", "b"}, [](const rask::Inputs& in) { return in.get<int>(0) * 10 + in.get<int>(1); });
  graph.add<int>("a", {}, [](const rask::Inputs&) { return 4; });
  graph.add<int>("b", {"a"}, [](const rask::Inputs& in) { return in.get<int>(0) + 3; });
  graph.add<int>("unused", {}, [](const rask::Inputs&) -> int { throw std::runtime_error("culled: never runs"); });
  graph.finalize();
  rask::TaskId total = graph.at("total");
  auto values = rt().compute(graph, std::span(&total, 1));
  if (rt().rank() == 0) {
    ASSERT_EQ(values.size(), 1u);
    EXPECT_EQ(values[0].get<int>(), 47);
  } else {
    EXPECT_TRUE(values.empty());
  }
}

TEST(Execute, ACycleIsAGraphErrorOnEveryRank) {
  rask::Graph graph;
  graph.add<int>("a", {"c"}, [](const rask::Inputs& in) { return in.get<int>(0); });
  graph.add<int>("b", {"a"}, [](const rask::Inputs& in) { return in.get<int>(0); });
  graph.add<int>("c", {"b"}, [](const rask::Inputs& in) { return in.get<int>(0); });
  rask::TaskId b = graph.at("b");
  try {
    rt().compute(graph, std::span(&b, 1));
    FAIL() << "expected a GraphError";
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "dependency cycle: 'b' -> 'a' -> 'c' -> 'b' (each task needs the next); "
                           "a task graph must be acyclic");
    EXPECT_TRUE(e.collective());
  }
}

TEST(Execute, AMissingDependencyIsAGraphError) {
  rask::Graph graph;
  graph.add<int>("a", {"nowhere"}, [](const rask::Inputs& in) { return in.get<int>(0); });
  rask::TaskId a = 0;
  try {
    rt().compute(graph, std::span(&a, 1));
    FAIL() << "expected a GraphError";
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "task 'a' depends on 'nowhere', which is not in the graph; add it, or fix the "
                           "dependency's name");
  }
}

TEST(Execute, ReadingAnInputAsTheWrongTypeNamesBoth) {
  rask::Graph graph;
  graph.add<int>("a", {}, [](const rask::Inputs&) { return 1; });
  graph.add<double>("b", {"a"}, [](const rask::Inputs& in) { return in.get<double>(0); });
  graph.finalize();
  rask::TaskId b = graph.at("b");
  try {
    rt().compute(graph, std::span(&b, 1));
    FAIL() << "expected a TaskError";
  } catch (const rask::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("task 'b' failed on rank"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("task 'b' reads input 0 ('a') as double, but it holds int"),
              std::string::npos)
        << e.what();
  }
}

TEST(Execute, PinnedTasksRunWhereTheyArePinned) {
  rask::Graph graph;
  std::vector<std::string> parts;
  for (int part = 0; part < 8; ++part) {
    parts.push_back("part" + std::to_string(part));
    graph.add<int>(parts.back(), {}, [](const rask::Inputs&) { return rask::Runtime::current().rank(); },
                   {.owner = part});
  }
  graph.add<std::vector<int>>("ranks", parts, [](const rask::Inputs& in) {
    std::vector<int> ranks;
    for (std::size_t i = 0; i < in.size(); ++i) ranks.push_back(in.get<int>(i));
    return ranks;
  });
  graph.finalize();
  rask::TaskId ranks = graph.at("ranks");
  auto values = rt().compute(graph, std::span(&ranks, 1), rask::Where::all);
  const auto& seen = values[0].get<std::vector<int>>();
  for (int part = 0; part < 8; ++part) EXPECT_EQ(seen[static_cast<std::size_t>(part)], part % rt().size());
}

TEST(Execute, ResultsAreTheSameWithAnyMessagePieceSize) {
  // ctest runs this file with RASK_MESSAGE_PIECE_BYTES=4096, so this 800 kB value
  // travels in about 200 pieces (and every other value here in several).
  rask::Graph graph;
  graph.add<std::vector<double>>("big", {}, [](const rask::Inputs&) {
    std::vector<double> v(100000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
    return v;
  }, {.owner = 1});
  graph.add<double>("sum", {"big"}, [](const rask::Inputs& in) {
    double s = 0;
    for (double x : in.get<std::vector<double>>(0)) s += x;
    return s;
  }, {.owner = 0});
  graph.finalize();
  rask::TaskId sum = graph.at("sum");
  auto values = rt().compute(graph, std::span(&sum, 1), rask::Where::all);
  EXPECT_EQ(values[0].get<double>(), 99999.0 * 100000 / 2);
}

// Dask's (add, 'a', 'a'): one dependency named twice is input 0 and input 1.
TEST(Execute, ADependencyNamedTwiceIsReadTwice) {
  rask::Graph g;
  g.add<long>("a", {}, [](const rask::Inputs&) { return 21L; }, {.owner = 1});
  g.add<long>("twice", {"a", "a"}, [](const rask::Inputs& in) { return in.get<long>(0) + in.get<long>(1); });
  g.add<long>("thrice", {"a", "twice", "a"},
              [](const rask::Inputs& in) { return in.get<long>(0) + in.get<long>(1) + in.get<long>(2); });
  g.finalize();
  std::vector<rask::TaskId> outs{g.at("twice"), g.at("thrice")};
  auto values = rt().compute(g, outs, rask::Where::all);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].get<long>(), 42);
  EXPECT_EQ(values[1].get<long>(), 84);
}

TEST(Execute, ReadingAnInputATaskDoesNotHaveIsATaskError) {
  rask::Graph g;
  g.add<long>("a", {}, [](const rask::Inputs&) { return 1L; });
  g.add<long>("greedy", {"a"}, [](const rask::Inputs& in) { return in.get<long>(0) + in.get<long>(1); });
  g.finalize();
  std::vector<rask::TaskId> outs{g.at("greedy")};
  try {
    rt().compute(g, outs);
    FAIL() << "no error";
  } catch (const rask::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("task 'greedy' failed on rank"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reads input 1, but it has 1 input"), std::string::npos) << e.what();
  }
}

// Large contiguous values travel as blocks (from and into their own storage), small
// ones in batches; both arrive intact, on every rank, alongside each other.
TEST(Execute, LargeAndSmallValuesCrossRanksIntact) {
  rask::Graph g;
  const int producers = 12;
  for (int p = 0; p < producers; ++p) {
    const std::size_t n = p % 3 == 0 ? 300000 : (p % 3 == 1 ? 7 : 0);  // 2.4 MB, tiny, empty
    g.add<std::vector<double>>(std::string("vec").append(std::to_string(p)), {}, [p, n](const rask::Inputs&) {
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = p * 1e6 + static_cast<double>(i);
      return v;
    }, {.owner = p});
    g.add<Eigen::MatrixXd>("mat" + std::to_string(p), {}, [p](const rask::Inputs&) {
      return Eigen::MatrixXd::Constant(300 + p, 200, p + 0.5);
    }, {.owner = p + 1});
  }
  std::vector<std::string> deps;
  for (int p = 0; p < producers; ++p) {
    deps.push_back("vec" + std::to_string(p));
    deps.push_back("mat" + std::to_string(p));
  }
  g.add<double>("check", deps, [](const rask::Inputs& in) {
    double total = 0;
    for (std::size_t i = 0; i < in.size(); i += 2) {
      const auto& v = in.get<std::vector<double>>(i);
      for (std::size_t k = 0; k < v.size(); ++k)
        if (v[k] != (i / 2) * 1e6 + static_cast<double>(k)) throw std::runtime_error("vector corrupted");
      const auto& m = in.get<Eigen::MatrixXd>(i + 1);
      if (m.rows() != 300 + static_cast<long>(i / 2) || m.cols() != 200) throw std::runtime_error("bad matrix shape");
      total += v.size() + m.sum();
    }
    return total;
  }, {.owner = 2});
  g.finalize();
  std::vector<rask::TaskId> outs{g.at("check"), g.at("mat5"), g.at("vec3")};
  auto values = rt().compute(g, outs, rask::Where::all);
  double expected = 0;
  for (int p = 0; p < producers; ++p) expected += (p % 3 == 0 ? 300000 : (p % 3 == 1 ? 7 : 0)) + (300.0 + p) * 200 * (p + 0.5);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0].get<double>(), expected);
  EXPECT_EQ(values[1].get<Eigen::MatrixXd>().rows(), 305);
  EXPECT_EQ(values[2].get<std::vector<double>>()[299999], 3e6 + 299999);
}

// Ranks that build different graphs are told so, with the first task that differs,
// and the runtime stays usable.
TEST(Execute, RanksWithDifferentGraphsAreNamed) {
  if (rt().size() < 2) GTEST_SKIP() << "needs two ranks";
  rask::Graph g;
  for (std::uint32_t t = 0; t < 50; ++t) g.add<long>(key_of(t), {}, [](const rask::Inputs&) { return 1L; });
  if (rt().rank() == 1) g.add<long>("t50", {}, [](const rask::Inputs&) { return 1L; });  // one task more
  g.add<long>("last", {}, [](const rask::Inputs&) { return 2L; });
  g.finalize();
  std::vector<rask::TaskId> outs{g.at("last"), g.at("t3")};
  try {
    rt().compute(g, outs);
    FAIL() << "no error";
  } catch (const rask::SpmdError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the ranks built different graphs for compute #"), std::string::npos) << what;
    EXPECT_NE(what.find("the first difference is task #50, which is 'last' on rank"), std::string::npos) << what;
    EXPECT_NE(what.find("'t50' on rank 1"), std::string::npos) << what;
  }
  rt().barrier();  // still in step
}
