#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <rask/rask.hpp>

namespace {
rask::Graph diamond() {
  // a -> b, a -> c, (b, c) -> d ; e is not needed by d
  rask::Graph g;
  auto body = [](const rask::Inputs& in) {
    int s = 1;
    for (std::size_t i = 0; i < in.size(); ++i) s += in.get<int>(i);
    return s;
  };
  g.add<int>("d", {"b", "c"}, body);
  g.add<int>("b", {"a"}, body);
  g.add<int>("c", {"a"}, body);
  g.add<int>("a", {}, body);
  g.add<int>("e", {"a"}, body);
  g.finalize();
  return g;
}

std::vector<std::string> keys(const rask::Graph& g, const std::vector<rask::TaskId>& ids) {
  std::vector<std::string> out;
  for (auto id : ids) out.push_back(g.task(id).key.str());
  return out;
}
}  // namespace

TEST(Graph, OrderIsDepthFirstPostOrderFromTheOutputs) {
  auto g = diamond();
  rask::TaskId d = g.at("d");
  EXPECT_EQ(keys(g, g.order(std::span(&d, 1))), (std::vector<std::string>{"a", "b", "c", "d"}));
  std::vector<rask::TaskId> both{g.at("e"), g.at("d")};
  EXPECT_EQ(keys(g, g.order(both)), (std::vector<std::string>{"a", "e", "b", "c", "d"}));
}

TEST(Graph, CullKeepsOnlyWhatTheOutputsNeed) {
  auto g = diamond();
  rask::TaskId b = g.at("b");
  auto culled = g.cull(std::span(&b, 1));
  EXPECT_EQ(culled.size(), 2u);
  EXPECT_TRUE(culled.find("a").has_value());
  EXPECT_TRUE(culled.find("b").has_value());
  EXPECT_FALSE(culled.find("d").has_value());
  EXPECT_EQ(culled.task(culled.at("b")).deps, std::vector<rask::TaskId>{culled.at("a")});
}

TEST(Graph, DuplicateAndEmptyKeysAreErrors) {
  rask::Graph g;
  g.add<int>("x", {}, [](const rask::Inputs&) { return 1; });
  try {
    g.add<int>("x", {}, [](const rask::Inputs&) { return 2; });
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "key 'x' is added twice; keys of a graph must be unique");
  }
  try {
    g.add<int>("", {}, [](const rask::Inputs&) { return 2; });
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "a task key must not be empty");
  }
  try {
    g.at("missing");
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "no task has the key 'missing'");
  }
}

TEST(Graph, CyclesAreReportedWithTheirKeys) {
  rask::Graph g;
  auto same = [](const rask::Inputs& in) { return in.get<int>(0); };
  g.add<int>("x", {"y"}, same);
  g.add<int>("y", {"x"}, same);
  g.finalize();
  rask::TaskId x = g.at("x");
  try {
    g.order(std::span(&x, 1));
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "dependency cycle: 'x' -> 'y' -> 'x' (each task needs the next); a task graph must be acyclic");
  }
  rask::Graph self;
  self.add<int>("s", {"s"}, same);
  self.finalize();
  rask::TaskId s = 0;
  EXPECT_THROW(self.order(std::span(&s, 1)), rask::GraphError);
}

TEST(Graph, AddTaskSharesEqualKeys) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>([](const rask::Inputs&) { return rask::Value(1); });
  auto first = g.add_task(rask::Key{"inc", 0xabc, false}, {}, body, rask::codec_for<int>(), {});
  auto second = g.add_task(rask::Key{"inc", 0xabc, false}, {}, body, rask::codec_for<int>(), {});
  EXPECT_EQ(first, second);
  EXPECT_EQ(g.size(), 1u);
  EXPECT_EQ(g.task(first).key.str(), "inc-0000000000000abc");
  EXPECT_EQ(g.find("inc-0000000000000abc"), first);
  EXPECT_EQ(g.find(rask::Token{0xabc}), first);
}

TEST(Graph, DotDrawsCallsValuesAndOwners) {
  auto g = diamond();
  rask::TaskId d = g.at("d");
  rask::Plan plan(g, std::span(&d, 1), 2, 1);
  std::string dot = rask::to_dot(g, plan);
  EXPECT_NE(dot.find("digraph rask {"), std::string::npos);
  for (const char* key : {"a", "b", "c", "d"}) {
    rask::TaskId t = g.at(key);
    std::string id = std::to_string(t);
    EXPECT_NE(dot.find("call" + id + " [shape=circle, label=\"" + key + "\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("call" + id + " -> value" + id + ";"), std::string::npos);
  }
  EXPECT_NE(dot.find("value" + std::to_string(g.at("a")) + " -> call" + std::to_string(g.at("b"))), std::string::npos);
  EXPECT_EQ(dot.find("call" + std::to_string(g.at("e")) + " "), std::string::npos) << "e is culled";
  EXPECT_NE(dot.find("label=\"rank 1\""), std::string::npos);
}

TEST(Graph, VisualizeWritesDotAndExplainsWhatItCannotRender) {
  auto g = diamond();
  rask::TaskId d = g.at("d");
  rask::Plan plan(g, std::span(&d, 1), 2, 1);
  const std::string path = ::testing::TempDir() + "rask_graph.dot";
  rask::visualize(g, plan, path);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, rask::to_dot(g, plan));
  try {
    rask::visualize(g, plan, ::testing::TempDir() + "graph.txt");
    FAIL();
  } catch (const rask::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("use a .dot, .svg, .png or .pdf file name"), std::string::npos);
  }
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  try {
    rask::visualize(g, plan, ::testing::TempDir() + "graph.svg");
    setenv("PATH", old_path.c_str(), 1);
    FAIL();
  } catch (const rask::InputError& e) {
    setenv("PATH", old_path.c_str(), 1);
    EXPECT_NE(std::string(e.what()).find("needs Graphviz's dot program, which is not on PATH"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(::testing::TempDir() + "graph.svg"));
}

TEST(Graph, MisuseIsReportedPlainly) {
  rask::Graph g;
  auto body = std::make_shared<const rask::TaskBody>([](const rask::Inputs&) { return rask::Value(1); });
  try {
    g.add_task(rask::Key{"f", 7, false}, {3}, body, rask::codec_for<int>(), {});
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "task 'f-0000000000000007' depends on task #3, which is not in the graph");
  }
  try {
    g.add_task(rask::Key{"f", 0, false}, {}, body, rask::codec_for<int>(), {});
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "task token 0 is reserved; tokens come from rask::token_* functions");
  }
  rask::TaskId missing = 9;
  try {
    g.order(std::span(&missing, 1));
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "output #9 is not in the graph");
  }
  g.add<int>("x", {"y"}, [](const rask::Inputs& in) { return in.get<int>(0); });
  rask::TaskId x = g.at("x");
  try {
    g.order(std::span(&x, 1));
    FAIL();
  } catch (const rask::GraphError& e) {
    EXPECT_STREQ(e.what(), "graph has dependencies given by key that are not resolved yet; call finalize() first");
  }
}

long twice(long x) { return 2 * x; }

TEST(Graph, ComputingWithoutARuntimeSaysHowToFixIt) {
  try {
    rask::delayed(twice)(2L).compute();
    FAIL();
  } catch (const rask::Error& e) {
    EXPECT_STREQ(e.what(), "no rask::Runtime: create one at the start of main (rask::Runtime rt(argc, argv);)");
  }
}
