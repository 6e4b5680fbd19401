// Workshop exercise 2.3: parallelize a for loop, then the same with control flow.
//
//     data = [1, 2, ..., 8]
//     inc(1) inc(2) ... inc(8)          double(x) if iseven(x) else inc(x)
//        \     |      /                      \       |       /
//            sum  -> 44                          sum  -> 60
//
// iseven() runs eagerly while the graph is built; only double/inc/sum are tasks.
// Each task sleeps 1 s as in the workshop. Run: mpirun -n 2 build/jobs/delayed_loop
#include <cstdio>
#include <iostream>
#include <numeric>
#include <vector>

#include "job_options.hpp"

double g_scale = 1.0;

int inc(int x) {
  jobs::work_for(1.0 * g_scale);
  return x + 1;
}

int twice(int x) {
  jobs::work_for(1.0 * g_scale);
  return 2 * x;
}

int total(const std::vector<int>& values) {
  jobs::work_for(1.0 * g_scale);
  return std::accumulate(values.begin(), values.end(), 0);
}

bool iseven(int x) { return x % 2 == 0; }

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  g_scale = jobs::sleep_scale(argc, argv);
  const rask::TaskOptions one_second{.cost = 1.0 * g_scale};
  const std::vector<int> data{1, 2, 3, 4, 5, 6, 7, 8};

  std::vector<rask::Delayed<int>> incremented;
  for (int x : data) incremented.push_back(rask::delayed(inc, one_second)(x));
  auto loop_sum = rask::delayed(total, {.name = "sum", .cost = 1.0 * g_scale})(incremented);

  std::vector<rask::Delayed<int>> branched;
  for (int x : data)
    branched.push_back(iseven(x) ? rask::delayed(twice, {.name = "double", .cost = 1.0 * g_scale})(x)
                                 : rask::delayed(inc, one_second)(x));
  auto branch_sum = rask::delayed(total, {.name = "sum", .cost = 1.0 * g_scale})(branched);

  for (auto* which : {&loop_sum, &branch_sum}) {
    auto plan = which->plan();
    const double start = rt.wtime();
    auto result = which->compute();
    const double measured = rt.wtime() - start;
    if (rt.rank() == 0)
      std::printf("result: %s = %d\n", which == &loop_sum ? "for-loop sum" : "control-flow sum", *result);
    jobs::report_times(rt, 9.0 * g_scale, measured, plan);
  }
  // Both graphs at once: the inc tasks of odd x are shared, so they run once.
  auto [a, b] = rask::compute(loop_sum, branch_sum);
  if (rt.rank() == 0) std::printf("result: together = %d, %d\n", *a, *b);
}
