// Workshop exercise 2.1: a cartesian product of two seeded integer lists.
//
//     A = 50 ints in [1, 9]      B = 25 ints in [4, 12]
//     for a, b in product(A, B):
//         results[(a, b)] = (f(a, b), g(a, b))     f sleeps 20 ms -> a - b
//                                                  g sleeps 30 ms -> a * b
//
//     f(1,4) g(1,4) f(1,5) g(1,5) ...   one task per distinct call:
//       |      |      |      |          equal (a, b) pairs share their key,
//       results{(a, b): (f, g)}         so each runs once
//
// Prints the serial estimate, the ideal time on the job's workers, and the measured time.
// Run: mpirun -n 2 build/jobs/delayed_cartesian [--sleep-scale 0.01]
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <map>
#include <utility>
#include <vector>

#include "job_options.hpp"

double g_scale = 1.0;

long f(long a, long b) {
  jobs::work_for(0.020 * g_scale);
  return a - b;
}

long g(long a, long b) {
  jobs::work_for(0.030 * g_scale);
  return a * b;
}

namespace {
// Seeded integers in [lo, hi], the same on every rank and every run.
std::vector<long> seeded_ints(std::size_t count, long lo, long hi, std::uint64_t seed) {
  std::vector<long> out;
  for (std::size_t draw_idx = 0; draw_idx < count; ++draw_idx) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (draw_idx + 1);  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    out.push_back(lo + static_cast<long>(z % static_cast<std::uint64_t>(hi - lo + 1)));
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  g_scale = jobs::sleep_scale(argc, argv);
  const auto A = seeded_ints(50, 1, 9, 42);
  const auto B = seeded_ints(25, 4, 12, 4242);

  auto delayed_f = rask::delayed(f, {.cost = 0.020 * g_scale});
  auto delayed_g = rask::delayed(g, {.cost = 0.030 * g_scale});
  std::map<std::pair<long, long>, std::pair<rask::Delayed<long>, rask::Delayed<long>>> results;
  for (long a : A)
    for (long b : B) results.insert_or_assign({a, b}, std::pair{delayed_f(a, b), delayed_g(a, b)});

  std::vector<rask::Delayed<long>> outputs;
  for (const auto& [pair, tasks] : results) {
    outputs.push_back(tasks.first);
    outputs.push_back(tasks.second);
  }
  const auto plan = rask::plan(outputs);
  if (rt.rank() == 0) plan.print(std::cout);

  rt.barrier();
  const double start = rt.wtime();
  auto values = rask::compute(outputs);
  const double measured = rt.wtime() - start;

  if (rt.rank() == 0) {
    std::printf("result: %zu pairs of %zu x %zu are distinct\n", results.size(), A.size(), B.size());
    // A person wants a few; tests and scripts ask for every pair.
    const std::size_t shown = jobs::has_flag(argc, argv, "--all-results") ? results.size() : 4;
    std::size_t value_idx = 0;
    for (const auto& [pair, tasks] : results) {
      if (value_idx / 2 == shown) break;
      std::printf("result: (%ld, %ld): f=%ld g=%ld\n", pair.first, pair.second, (*values)[value_idx],
                  (*values)[value_idx + 1]);
      value_idx += 2;
    }
    if (shown < results.size())
      std::printf("result: ... and %zu more pairs (--all-results prints every one)\n", results.size() - shown);
    const double loop_serial = static_cast<double>(A.size() * B.size()) * 0.050 * g_scale;
    std::printf("time: the notebook's serial loop runs all %zu calls: %.3f s\n", A.size() * B.size(), loop_serial);
  }
  jobs::report_times(rt, static_cast<double>(results.size()) * 0.050 * g_scale, measured, plan);
}
