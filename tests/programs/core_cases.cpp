// The core's hard cases as a user meets them, one per mode (tests/check_core.py runs
// them and checks exit codes and messages):
//   many-values N REPEATS   sum of N inc results, computed REPEATS times (many values
//                           cross ranks from every thread)
//   chain N                 a chain of N dependent Delayed values, then destroyed
//   closures                calls through closures holding a reference, a double beside
//                           an int, and a std::function: same keys on every rank
//   extra-task | argument   the last rank builds a different graph
//   leave | twice | barrier one rank skips a compute, runs one more, or waits elsewhere
//   visualize               a picture to a directory that does not exist
//   segv                    a task that dereferences null
#include <rask/rask.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

long inc(long x) { return x + 1; }
long total(const std::vector<long>& xs) { return std::accumulate(xs.begin(), xs.end(), 0L); }
std::string show(long x) { return std::to_string(x); }
long crash(long x) {
  volatile long* nowhere = nullptr;
  return *nowhere + x;
}

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  const long n = argc > 2 ? std::atol(argv[2]) : 1000;
  const bool last = rt.rank() == rt.size() - 1;

  if (mode == "many-values") {
    const long repeats = argc > 3 ? std::atol(argv[3]) : 1;
    for (long r = 0; r < repeats; ++r) {
      std::vector<rask::Delayed<long>> xs;
      xs.reserve(n);
      for (long i = 0; i < n; ++i) xs.push_back(rask::delayed(inc)(i + r));
      auto sum = rask::delayed(total)(xs).compute();
      const long expected = n * (n + 1) / 2 + n * r;
      if (sum && *sum != expected) {
        std::cerr << "wrong sum " << *sum << ", wanted " << expected << "\n";
        return 2;
      }
    }
    if (rt.rank() == 0) std::cout << "many-values ok\n";
  } else if (mode == "chain") {
    auto x = rask::delayed(inc)(0L);
    for (long i = 1; i < n; ++i) x = rask::delayed(inc)(x);
    if (auto v = x.compute()) std::cout << "chain " << *v << "\n";
  } else if (mode == "closures") {
    long base = 10;
    const long& ref = base;
    auto by_ref = rask::delayed([&ref](long x) { return x + ref; }, {.name = "by_ref"});
    struct Mixed {
      int i;
      double d;
    };
    Mixed mixed{3, 0.5};
    auto padded = rask::delayed([mixed](long x) { return x * mixed.i + static_cast<long>(mixed.d * 2); });
    std::function<long(long)> wrapped = inc;
    auto through_function = rask::delayed(wrapped);
    auto shown = rask::delayed(show)(through_function(by_ref(1) + padded(2)));
    std::cout << "keys " << shown.key() << " " << through_function(1).key() << "\n";
    if (auto v = shown.compute()) std::cout << "closures " << *v << "\n";
  } else if (mode == "extra-task" || mode == "argument") {
    std::vector<rask::Delayed<long>> xs;
    for (long i = 0; i < n; ++i) xs.push_back(rask::delayed(inc)(mode == "argument" && last && i == 7 ? 1000 : i));
    if (mode == "extra-task" && last) xs.push_back(rask::delayed(inc)(n));
    rask::delayed(total)(xs).compute();
  } else if (mode == "leave" || mode == "twice") {
    auto x = rask::delayed(inc)(1L);
    if (!(mode == "leave" && last)) x.compute();
    if (mode == "twice" && rt.rank() == 0) x.compute();
  } else if (mode == "barrier") {
    auto x = rask::delayed(inc)(1L);
    if (last) rt.barrier();
    else x.compute();
  } else if (mode == "visualize") {
    auto x = rask::delayed(inc)(1L);
    x.visualize("/nonexistent/dir/x.dot");
    x.compute();
  } else if (mode == "segv") {
    std::vector<rask::Delayed<long>> xs;
    for (long i = 0; i < 8; ++i) xs.push_back(rask::delayed(i == 5 ? crash : inc)(i));
    rask::delayed(total)(xs).compute();
  } else {
    std::cerr << "usage: core_cases many-values|chain|closures|extra-task|argument|leave|twice|barrier|visualize|segv [N]\n";
    return 2;
  }
  return 0;
}
