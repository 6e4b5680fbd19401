// Collective tasks at 1, 2 and 4 ranks: MPI collectives inside the graph, mixed with
// ordinary tasks, checked against plain loops; their pieces per rank; their errors.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <rask/rask.hpp>
#include <string>
#include <vector>

namespace {

rask::Runtime& rt() { return rask::Runtime::current(); }

rask::Token token_of(const std::string& key) { return rask::token_bytes(key.data(), key.size()); }

template <class F>
rask::TaskId add(rask::Graph& g, const std::string& key, std::vector<rask::TaskId> deps, F body,
                 rask::TaskOptions options = {}) {
  auto wrapped = std::make_shared<const rask::TaskBody>(
      [f = std::move(body)](const rask::Inputs& in) { return rask::Value(std::uint64_t(f(in))); });
  return g.add_task({key, token_of(key), true}, std::move(deps), std::move(wrapped), rask::codec_for<std::uint64_t>(),
                    options);
}

std::uint64_t allreduce_sum(std::uint64_t mine) {
  std::uint64_t total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, rask::collective_comm());
  return total;
}

}  // namespace

// Chunks pinned round-robin; a collective sums them with MPI_Allreduce; ordinary tasks
// on every rank read their rank's piece; a final tree adds everything up.
TEST(Collective, AllreduceAmongOrdinaryTasks) {
  const int n = 24;
  rask::Graph g;
  std::vector<rask::TaskId> chunks;
  for (int i = 0; i < n; ++i)
    chunks.push_back(add(
        g, "chunk" + std::to_string(i), {}, [i](const rask::Inputs&) { return std::uint64_t(i * i + 1); },
        {.owner = i}));
  auto total = add(
      g, "total", chunks,
      [](const rask::Inputs& in) {
        std::uint64_t mine = 0;
        for (std::size_t k = 0; k < in.size(); ++k)
          if (in.has(k)) mine += in.get<std::uint64_t>(k);
        return allreduce_sum(mine);
      },
      {.collective = true});
  std::vector<rask::TaskId> scaled;
  for (int i = 0; i < n; ++i)
    scaled.push_back(add(
        g, "scaled" + std::to_string(i), {total, chunks[i]},
        [](const rask::Inputs& in) { return in.get<std::uint64_t>(0) * 1000 + in.get<std::uint64_t>(1); },
        {.owner = i + 1}));
  auto sum = add(g, "sum", scaled, [](const rask::Inputs& in) {
    std::uint64_t s = 0;
    for (std::size_t k = 0; k < in.size(); ++k) s += in.get<std::uint64_t>(k);
    return s;
  });
  std::vector<rask::TaskId> out{sum, total};
  auto results = rt().compute(g, out);

  std::uint64_t expected_total = 0;
  for (int i = 0; i < n; ++i) expected_total += std::uint64_t(i * i + 1);
  std::uint64_t expected_sum = 0;
  for (int i = 0; i < n; ++i) expected_sum += expected_total * 1000 + std::uint64_t(i * i + 1);
  if (rt().rank() == 0) {
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].get<std::uint64_t>(), expected_sum);
    EXPECT_EQ(results[1].get<std::uint64_t>(), expected_total);
  } else {
    EXPECT_TRUE(results.empty());
  }
  EXPECT_EQ(rt().last_stats().collectives_run, 1u);
}

// Two collectives in a row, the second fed by ordinary tasks that read the first.
TEST(Collective, TwoInARow) {
  rask::Graph g;
  const int size = rt().size();
  auto first = add(
      g, "first", {}, [](const rask::Inputs&) { return allreduce_sum(std::uint64_t(rask::Runtime::current().rank() + 1)); },
      {.collective = true});
  std::vector<rask::TaskId> mids;
  for (int i = 0; i < 8; ++i)
    mids.push_back(add(
        g, "mid" + std::to_string(i), {first},
        [i](const rask::Inputs& in) { return in.get<std::uint64_t>(0) + std::uint64_t(i); }, {.owner = i}));
  auto second = add(
      g, "second", mids,
      [](const rask::Inputs& in) {
        std::uint64_t mine = 0;
        for (std::size_t k = 0; k < in.size(); ++k)
          if (in.has(k)) mine += in.get<std::uint64_t>(k);
        return allreduce_sum(mine);
      },
      {.collective = true});
  std::vector<rask::TaskId> out{second};
  auto results = rt().compute(g, out, rask::Where::all);
  const std::uint64_t ranks_sum = std::uint64_t(size) * std::uint64_t(size + 1) / 2;
  std::uint64_t expected = 0;
  for (int i = 0; i < 8; ++i) expected += ranks_sum + std::uint64_t(i);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].get<std::uint64_t>(), expected);
  EXPECT_EQ(rt().last_stats().collectives_run, 2u);
}

// A collective's value is one piece per rank: with Where::all each rank gets its own.
TEST(Collective, EachRankReadsItsOwnPiece) {
  rask::Graph g;
  auto piece = add(
      g, "piece", {},
      [](const rask::Inputs&) {
        int rank = -1;
        MPI_Comm_rank(rask::collective_comm(), &rank);
        return std::uint64_t(rank) * 10;
      },
      {.collective = true});
  auto plus = add(g, "plus", {piece}, [](const rask::Inputs& in) { return in.get<std::uint64_t>(0) + 1; },
                  {.owner = 0});
  std::vector<rask::TaskId> out{piece, plus};
  auto all = rt().compute(g, out, rask::Where::all);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].get<std::uint64_t>(), std::uint64_t(rt().rank()) * 10);
  EXPECT_EQ(all[1].get<std::uint64_t>(), 1u);  // made on rank 0 from rank 0's piece, sent to all
}

// Random DAGs with collectives sprinkled in, against a sequential evaluation: every
// rank enters them in one order whatever the placement, threads and message timing.
TEST(Collective, RandomDagsWithCollectives) {
  for (std::uint64_t seed : {11u, 12u}) {
    const std::uint32_t n = 600;
    std::mt19937_64 gen(seed);
    std::vector<std::vector<std::uint32_t>> deps(n);
    std::vector<bool> coll(n, false);
    for (std::uint32_t t = 1; t < n; ++t) {
      coll[t] = gen() % 25 == 0;
      std::uint32_t k = 1 + static_cast<std::uint32_t>(gen() % (coll[t] ? 8 : 3));
      for (std::uint32_t j = 0; j < k; ++j) {
        std::uint32_t d = gen() % 3 == 0 ? static_cast<std::uint32_t>(gen() % t)
                                         : t - 1 - static_cast<std::uint32_t>(gen() % std::min<std::uint32_t>(t, 12));
        if (std::find(deps[t].begin(), deps[t].end(), d) == deps[t].end()) deps[t].push_back(d);
      }
    }
    // Ordinary task: a mix of its inputs; collective: the sum of all its inputs, each
    // counted once (a collective input is on every rank: rank 0 counts it).
    auto mix = [](std::uint32_t t, const std::vector<std::uint64_t>& in) {
      std::uint64_t v = t * 0x9E3779B97F4A7C15ull + 1;
      for (std::size_t i = 0; i < in.size(); ++i) v = (v ^ in[i]) * 0x100000001b3ull + i;
      return v;
    };
    std::vector<std::uint64_t> expected(n);
    for (std::uint32_t t = 0; t < n; ++t) {
      std::vector<std::uint64_t> in;
      for (auto d : deps[t]) in.push_back(expected[d]);
      if (coll[t]) {
        std::uint64_t s = 0;
        for (auto v : in) s += v;
        expected[t] = s;
      } else {
        expected[t] = mix(t, in);
      }
    }
    rask::Graph g;
    std::vector<rask::TaskId> ids(n);
    for (std::uint32_t t = 0; t < n; ++t) {
      std::vector<rask::TaskId> ds;
      for (auto d : deps[t]) ds.push_back(ids[d]);
      std::vector<bool> dep_coll;
      for (auto d : deps[t]) dep_coll.push_back(coll[d]);
      // Built by append: GCC 12 warns (falsely, -Wrestrict) on a chain of operator+.
      std::string key = "s";
      key += std::to_string(seed);
      key += "t";
      key += std::to_string(t);
      if (coll[t]) {
        ids[t] = add(
            g, key, ds,
            [dep_coll](const rask::Inputs& in) {
              const bool root = rask::Runtime::current().rank() == 0;
              std::uint64_t mine = 0;
              for (std::size_t k = 0; k < in.size(); ++k)
                if (in.has(k) && (!dep_coll[k] || root)) mine += in.get<std::uint64_t>(k);
              // A nonblocking collective waited for as the core would have it.
              std::uint64_t total = 0;
              MPI_Request request;
              MPI_Iallreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, rask::collective_comm(), &request);
              rask::collective_wait(request);
              return total;
            },
            {.cost = 1e-5, .collective = true});
      } else {
        ids[t] = add(
            g, key, ds,
            [t, mix](const rask::Inputs& in) {
              std::vector<std::uint64_t> v;
              for (std::size_t k = 0; k < in.size(); ++k) v.push_back(in.get<std::uint64_t>(k));
              return mix(t, v);
            },
            {.cost = static_cast<double>(gen() % 50) * 1e-6});
      }
    }
    std::vector<rask::TaskId> out{ids[n - 1], ids[n / 2], ids[n / 3]};
    auto results = rt().compute(g, out, rask::Where::all);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].get<std::uint64_t>(), expected[n - 1]) << "seed " << seed;
    EXPECT_EQ(results[1].get<std::uint64_t>(), expected[n / 2]) << "seed " << seed;
    EXPECT_EQ(results[2].get<std::uint64_t>(), expected[n / 3]) << "seed " << seed;
  }
}

TEST(Collective, ReadingAnInputMadeElsewhereIsNamed) {
  if (rt().size() < 2) GTEST_SKIP() << "needs two ranks";
  rask::Graph g;
  auto far = add(g, "far", {}, [](const rask::Inputs&) { return std::uint64_t(7); }, {.owner = 1});
  auto reader = add(
      g, "reader", {far},
      [](const rask::Inputs& in) {
        // Every rank reads it: rank 1 has it, the others do not and fail; all agree.
        return in.get<std::uint64_t>(0);
      },
      {.collective = true});
  std::vector<rask::TaskId> out{reader};
  try {
    rt().compute(g, out);
    FAIL() << "no error";
  } catch (const rask::TaskError& e) {
    EXPECT_STREQ(e.what(),
                 "task 'reader' failed on rank 0: collective task 'reader' reads input 0 ('far'), which was made on "
                 "another rank: a collective task sees only the inputs on its own rank; test Inputs::has(i) and "
                 "exchange values over rask::collective_comm()");
  }
  // The next compute runs on a clean communicator.
  rask::Graph h;
  auto again = add(h, "again", {}, [](const rask::Inputs&) { return allreduce_sum(1); }, {.collective = true});
  std::vector<rask::TaskId> out2{again};
  auto r = rt().compute(h, out2, rask::Where::all);
  EXPECT_EQ(r[0].get<std::uint64_t>(), std::uint64_t(rt().size()));
}

TEST(Collective, CommOutsideACollectiveTaskIsAnError) {
  try {
    rask::collective_comm();
    FAIL() << "no error";
  } catch (const rask::Error& e) {
    EXPECT_STREQ(e.what(), "rask::collective_comm() was called outside a collective task; only the body of a task "
                           "added with TaskOptions::collective = true has one");
  }
  MPI_Request request = MPI_REQUEST_NULL;
  try {
    rask::collective_wait(request);
    FAIL() << "no error";
  } catch (const rask::Error& e) {
    EXPECT_STREQ(e.what(), "rask::collective_wait() was called outside a collective task; use MPI_Wait there");
  }
}
