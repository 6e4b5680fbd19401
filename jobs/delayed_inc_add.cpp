// Workshop exercise 2.2: two independent increments, then their sum.
//
//     inc(1)    inc(2)        each sleeps 1 s
//         \      /
//          add                sleeps 1 s  -> 5
//
// Serially 3 s; with two workers the incs overlap: 2 s.
// Run: mpirun -n 2 build/jobs/delayed_inc_add [--sleep-scale 0.01]
#include <cstdio>
#include <iostream>

#include "job_options.hpp"

// Task functions have external linkage so that their keys carry their names (dladdr).
double g_scale = 1.0;

int inc(int x) {
  jobs::work_for(1.0 * g_scale);
  return x + 1;
}

int add(int x, int y) {
  jobs::work_for(1.0 * g_scale);
  return x + y;
}

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  g_scale = jobs::sleep_scale(argc, argv);
  const rask::TaskOptions one_second{.cost = 1.0 * g_scale};

  auto x = rask::delayed(inc, one_second)(1);
  auto y = rask::delayed(inc, one_second)(2);
  auto z = rask::delayed(add, one_second)(x, y);

  z.visualize("inc_add.dot");
  auto plan = z.plan();
  if (rt.rank() == 0) {
    plan.print(std::cout);
    std::cout.flush();  // in the job log before the work starts
  }
  const double start = rt.wtime();
  auto result = z.compute();
  const double measured = rt.wtime() - start;
  if (rt.rank() == 0) std::printf("result: %s = %d\n", z.key().c_str(), *result);
  jobs::report_times(rt, 3.0 * g_scale, measured, plan);
}
