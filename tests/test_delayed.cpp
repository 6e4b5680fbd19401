// The delayed API at 1, 2 and 4 ranks: every value is checked against a plain loop.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Eigen/Dense>
#include <atomic>
#include <numeric>
#include <rask/rask.hpp>
#include <string>
#include <vector>

namespace {

rask::Runtime& rt() { return rask::Runtime::current(); }

// The same string on every rank? (keys must not depend on the rank or on addresses)
bool same_on_every_rank(const std::string& s) {
  int length = static_cast<int>(s.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string root(static_cast<std::size_t>(length), '\0');
  if (rt().rank() == 0) root = s;
  MPI_Bcast(root.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  int same = root == s, all_same = 0;
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all_same == 1;
}

long sum_over_ranks(long local) {
  long total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

}  // namespace

// Functions with external linkage, so keys carry their names.
long inc(long x) { return x + 1; }
long add(long x, long y) { return x + y; }
long sum_all(const std::vector<long>& xs) { return std::accumulate(xs.begin(), xs.end(), 0L); }

std::atomic<long> g_calls{0};
long counted_inc(long x) {
  g_calls.fetch_add(1);
  return x + 1;
}

// A tree sum with fan-in 8, as Dask's reductions build them.
rask::Delayed<long> tree_sum(std::vector<rask::Delayed<long>> level) {
  while (level.size() > 1) {
    std::vector<rask::Delayed<long>> next;
    for (std::size_t begin = 0; begin < level.size(); begin += 8) {
      std::vector<rask::Delayed<long>> group(level.begin() + static_cast<long>(begin),
                                             level.begin() + static_cast<long>(std::min(begin + 8, level.size())));
      next.push_back(rask::delayed(sum_all, {.name = "sum"})(group));
    }
    level = std::move(next);
  }
  return level.front();
}

TEST(Delayed, KeysNameTheFunctionAndAreTheSameOnEveryRank) {
  auto a = rask::delayed(inc)(1);
  auto b = rask::delayed(inc)(1);
  auto c = rask::delayed(inc)(2);
  EXPECT_EQ(a.key(), b.key());
  EXPECT_NE(a.key(), c.key());
  EXPECT_EQ(a.key().rfind("inc-", 0), 0u) << a.key();
  EXPECT_EQ(a.key().size(), 4u + 16u);
  EXPECT_EQ(rask::delayed(inc, {.name = "bump"})(1).key().rfind("bump-", 0), 0u);
  EXPECT_TRUE(same_on_every_rank(rask::delayed(add)(a, c).key()));
}

TEST(Delayed, IncAddGivesFive) {
  auto z = rask::delayed(add)(rask::delayed(inc)(1), rask::delayed(inc)(2));
  auto value = z.compute();
  if (rt().rank() == 0) {
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, 5);
  } else {
    EXPECT_FALSE(value.has_value());
  }
}

TEST(Delayed, MapThenTreeSumMatchesALoop) {
  for (long n : {1L, 7L, 8L, 9L, 1000L, 4097L}) {
    std::vector<rask::Delayed<long>> mapped;
    long expected = 0;
    for (long i = 0; i < n; ++i) {
      mapped.push_back(rask::delayed(inc)(i));
      expected += i + 1;
    }
    auto total = tree_sum(mapped).compute(rask::Where::all);
    ASSERT_TRUE(total.has_value());
    EXPECT_EQ(*total, expected) << "n = " << n;
  }
}

TEST(Delayed, SharedIntermediatesRunOnceAcrossAllRanks) {
  g_calls = 0;
  auto shared = rask::delayed(counted_inc)(10);
  auto again = rask::delayed(counted_inc)(10);  // equal call: the same task
  auto left = rask::delayed(add)(shared, 1L);
  auto right = rask::delayed(add)(again, 2L);
  auto [l, r] = rask::compute(rask::Where::all, left, right);
  EXPECT_EQ(*l, 12);
  EXPECT_EQ(*r, 13);
  EXPECT_EQ(sum_over_ranks(g_calls.load()), 1);

  g_calls = 0;
  auto impure = rask::delayed(counted_inc, {.pure = false});
  auto both = rask::delayed(add)(impure(10), impure(10));
  EXPECT_NE(impure(10).key(), impure(10).key());
  auto value = both.compute(rask::Where::all);
  EXPECT_EQ(*value, 22);
  EXPECT_EQ(sum_over_ranks(g_calls.load()), 2);
}

TEST(Delayed, ArithmeticOperatorsBuildTasks) {
  auto x = rask::delayed(inc)(4);  // 5
  auto y = rask::delayed(inc)(9);  // 10
  auto expr = (x + 1) * y - 2 / x + (-y) % 7 + 100 - x;
  EXPECT_EQ(expr.key().rfind("sub-", 0), 0u);
  auto value = expr.compute(rask::Where::all);
  long xv = 5, yv = 10;
  EXPECT_EQ(*value, (xv + 1) * yv - 2 / xv + (-yv) % 7 + 100 - xv);
  auto ratio = (rask::delayed_value(1.0) + x) / 4.0;
  EXPECT_DOUBLE_EQ(*ratio.compute(rask::Where::all), 1.5);
}

TEST(Delayed, RepeatedArgumentsShareOneInput) {
  // 60 arguments, 20 distinct: past the scan limit, duplicates found by hashing.
  std::vector<rask::Delayed<long>> xs;
  long expected = 0;
  for (long i = 0; i < 60; ++i) {
    xs.push_back(rask::delayed(inc)(i % 20));
    expected += i % 20 + 1;
  }
  auto total = rask::delayed(sum_all)(xs);
  EXPECT_EQ(total.node()->deps.size(), 20u);
  EXPECT_EQ(*total.compute(rask::Where::all), expected);
  auto twice = rask::delayed(add)(xs[0], xs[0]);
  EXPECT_EQ(twice.node()->deps.size(), 1u);
  EXPECT_EQ(*twice.compute(rask::Where::all), 2);
}

TEST(Delayed, ListsOfDelayedAreComputedTogether) {
  std::vector<rask::Delayed<long>> xs;
  for (long i = 0; i < 50; ++i) xs.push_back(rask::delayed(inc)(i % 10));  // 10 distinct
  auto values = rask::compute(xs);
  auto plan = rask::plan(xs);
  EXPECT_EQ(plan.order().size(), 10u);
  if (rt().rank() == 0) {
    ASSERT_EQ(values->size(), 50u);
    for (long i = 0; i < 50; ++i) EXPECT_EQ((*values)[static_cast<std::size_t>(i)], i % 10 + 1);
  } else {
    EXPECT_FALSE(values.has_value());
  }
}

// A user type with a serializer crosses ranks; one without stays where it is made.
struct Point {
  double x, y;
};
template <>
struct rask::Serializer<Point> {
  static void write(Writer& w, const Point& p) {
    w.write(p.x);
    w.write(p.y);
  }
  static Point read(Reader& r) {
    Point p{};
    p.x = r.read<double>();
    p.y = r.read<double>();
    return p;
  }
};
struct Opaque {
  std::vector<long> held;
};

Point make_point(long i) { return {static_cast<double>(i), 2.0 * static_cast<double>(i)}; }
Point add_points(const std::vector<Point>& ps) {
  Point s{0, 0};
  for (const auto& p : ps) s = {s.x + p.x, s.y + p.y};
  return s;
}
Opaque make_opaque(long i) { return Opaque{{i, i + 1}}; }
long open_opaque(const Opaque& o) { return o.held[0] * 10 + o.held[1]; }

TEST(Delayed, UserTypesCrossRanksThroughTheirSerializer) {
  std::vector<rask::Delayed<Point>> points;
  for (long i = 0; i < 64; ++i) points.push_back(rask::delayed(make_point)(i));
  auto total = rask::delayed(add_points)(points).compute(rask::Where::all);
  EXPECT_DOUBLE_EQ(total->x, 63.0 * 64 / 2);
  EXPECT_DOUBLE_EQ(total->y, 63.0 * 64);
}

TEST(Delayed, ValuesWithoutSerializerStayOnTheirRank) {
  std::vector<rask::Delayed<long>> opened;
  for (long i = 0; i < 16; ++i) opened.push_back(rask::delayed(open_opaque)(rask::delayed(make_opaque)(i)));
  auto total = rask::delayed(sum_all)(opened).compute(rask::Where::all);
  long expected = 0;
  for (long i = 0; i < 16; ++i) expected += i * 10 + i + 1;
  EXPECT_EQ(*total, expected);
  // A result on rank 0 only: its producer is pulled to rank 0.
  auto opaque = rask::delayed(make_opaque)(5L).compute();
  if (rt().rank() == 0) {
    EXPECT_EQ(opaque->held, (std::vector<long>{5, 6}));
  }
  // Wanted on every rank: an error at every rank count, one rank included.
  try {
    rask::delayed(make_opaque)(7L).compute(rask::Where::all);
    ADD_FAILURE() << "expected a PlanError";
  } catch (const rask::PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be sent to every rank: its type has no rask::Serializer"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("Opaque"), std::string::npos) << e.what();
  }
}

Eigen::MatrixXd block(long seed) {
  Eigen::MatrixXd m(30, 20);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<double>((seed * 31 + i * 7 + j) % 13) - 6.0;
  return m;
}
Eigen::MatrixXd gram(const Eigen::MatrixXd& m) { return m.transpose() * m; }
Eigen::MatrixXd add_all(const std::vector<Eigen::MatrixXd>& ms) {
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(ms[0].rows(), ms[0].cols());
  for (const auto& m : ms) s += m;
  return s;
}

TEST(Delayed, EigenMatricesCrossRanks) {
  std::vector<rask::Delayed<Eigen::MatrixXd>> grams;
  Eigen::MatrixXd stacked(30 * 12, 20);
  for (long b = 0; b < 12; ++b) {
    grams.push_back(rask::delayed(gram)(rask::delayed(block)(b)));
    stacked.middleRows(b * 30, 30) = block(b);
  }
  auto total = rask::delayed(add_all)(grams).compute(rask::Where::all);
  Eigen::MatrixXd expected = stacked.transpose() * stacked;  // integers: exact
  EXPECT_EQ((*total - expected).cwiseAbs().maxCoeff(), 0.0);
}

std::vector<double> big_vector(long n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<double>(i % 1000);
  return v;
}
double vector_sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

TEST(Delayed, LargeValuesCrossRanks) {
  std::vector<rask::Delayed<double>> sums;
  for (long n : {1000000L, 1L, 0L, 2000000L}) sums.push_back(rask::delayed(vector_sum)(rask::delayed(big_vector)(n)));
  auto values = rask::compute(sums, rask::Where::all);
  EXPECT_EQ((*values)[0], 1000.0 * 999 / 2 * 1000);
  EXPECT_EQ((*values)[1], 0.0);
  EXPECT_EQ((*values)[2], 0.0);
  EXPECT_EQ((*values)[3], 1000.0 * 999 / 2 * 2000);
  auto whole = rask::delayed(big_vector)(300000L).compute(rask::Where::all);
  EXPECT_EQ(whole->size(), 300000u);
  EXPECT_EQ((*whole)[299999], 999.0);
}

// Types whose serializer fails: the failure is the task's, named on every rank.
struct FailsToWrite {
  int x;
};
struct FailsToRead {
  int x;
};
template <>
struct rask::Serializer<FailsToWrite> {
  static void write(Writer&, const FailsToWrite&) { throw std::runtime_error("no room"); }
  static FailsToWrite read(Reader&) { return {}; }
};
template <>
struct rask::Serializer<FailsToRead> {
  static void write(Writer& w, const FailsToRead& v) { w.write(v.x); }
  static FailsToRead read(Reader&) { throw std::runtime_error("bad bytes"); }
};
FailsToWrite make_unwritable(int x) { return {x}; }
FailsToRead make_unreadable(int x) { return {x}; }

TEST(Delayed, SerializerFailuresAreTaskFailures) {
  // With one rank nothing is sent, so nothing fails.
  try {
    rask::delayed(make_unwritable)(1).compute(rask::Where::all);
    EXPECT_EQ(rt().size(), 1);
  } catch (const rask::TaskError& e) {
    EXPECT_GT(rt().size(), 1);
    EXPECT_NE(std::string(e.what()).find("could not serialize its result (FailsToWrite) to send it to rank"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("no room"), std::string::npos) << e.what();
    EXPECT_TRUE(same_on_every_rank(e.what()));
  }
  try {
    rask::delayed(make_unreadable)(1).compute(rask::Where::all);
    EXPECT_EQ(rt().size(), 1);
  } catch (const rask::TaskError& e) {
    EXPECT_GT(rt().size(), 1);
    EXPECT_NE(std::string(e.what()).find(", could not be read: bad bytes"), std::string::npos) << e.what();
    EXPECT_TRUE(same_on_every_rank(e.what()));
  }
}

long nested(long x) { return *rask::delayed(inc)(x).compute(rask::Where::all); }

TEST(Delayed, ATaskThatComputesIsATaskFailureNotAHang) {
  try {
    rask::delayed(nested)(1L).compute();
    FAIL();
  } catch (const rask::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("compute was called from inside a task"), std::string::npos) << e.what();
  }
}

TEST(Delayed, OneRuntimeAtATime) {
  int argc = 0;
  char** argv = nullptr;
  try {
    rask::Runtime second(argc, argv);
    FAIL();
  } catch (const rask::Error& e) {
    EXPECT_STREQ(e.what(), "a rask::Runtime already exists; create exactly one, at the start of main");
  }
}

long explode(long x) {
  if (x == 13) throw std::runtime_error("boom on 13");
  return x;
}

TEST(Delayed, ATaskThatThrowsFailsEveryRankWithOneMessage) {
  std::vector<rask::Delayed<long>> xs;
  for (long i = 0; i < 40; ++i) xs.push_back(rask::delayed(inc)(rask::delayed(explode)(i)));
  auto total = rask::delayed(sum_all)(xs);
  std::string message;
  try {
    total.compute();
    ADD_FAILURE() << "expected a TaskError";
  } catch (const rask::TaskError& e) {
    message = e.what();
    EXPECT_EQ(e.key(), rask::delayed(explode)(13L).key());
    EXPECT_GE(e.rank(), 0);
    EXPECT_LT(e.rank(), rt().size());
  }
  EXPECT_NE(message.find("task 'explode-"), std::string::npos) << message;
  EXPECT_NE(message.find("failed on rank"), std::string::npos) << message;
  EXPECT_NE(message.find("boom on 13"), std::string::npos) << message;
  EXPECT_TRUE(same_on_every_rank(message));
  // The runtime is still usable afterwards.
  auto after = rask::delayed(add)(rask::delayed(inc)(1), 2L).compute(rask::Where::all);
  EXPECT_EQ(*after, 4);
}

long explode_all(long x) { throw std::runtime_error("every task fails: " + std::to_string(x)); }

TEST(Delayed, ManyRanksFailingAgreeOnOneError) {
  std::vector<rask::Delayed<long>> xs;
  for (long i = 0; i < 64; ++i) xs.push_back(rask::delayed(explode_all)(i));
  std::string message;
  try {
    rask::delayed(sum_all)(xs).compute();
  } catch (const rask::TaskError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("every task fails"), std::string::npos) << message;
  EXPECT_TRUE(same_on_every_rank(message));
}

TEST(Delayed, MoreRanksThanTasks) {
  auto one = rask::delayed(inc)(41L);
  EXPECT_EQ(*one.compute(rask::Where::all), 42);
  auto two = rask::delayed(add)(rask::delayed(inc)(1), 5L);
  EXPECT_EQ(*two.compute(rask::Where::all), 7);
}

TEST(Delayed, LongChainsNeedNoDeepStack) {
  auto x = rask::delayed(inc)(0L);
  for (int step = 1; step < 100000; ++step) x = rask::delayed(inc)(x);
  EXPECT_EQ(*x.compute(rask::Where::all), 100000);
}

TEST(Delayed, ThePlanPredictsTheWorkshopTimes) {
  // inc(1), inc(2), add with 1 s each: 3 s of work, 2 s of critical path.
  const rask::TaskOptions one_second{.cost = 1.0};
  auto z = rask::delayed(add, one_second)(rask::delayed(inc, one_second)(1), rask::delayed(inc, one_second)(2));
  auto plan = z.plan();
  EXPECT_DOUBLE_EQ(plan.total_work(), 3.0);
  EXPECT_DOUBLE_EQ(plan.critical_path(), 2.0);
  const int workers = rt().size() * rt().threads();
  EXPECT_NEAR(plan.predicted_seconds(), workers >= 2 ? 2.0 : 3.0, 1e-3);
}
