// A task that throws, uncaught: every rank must exit non-zero, with one message.
#include <rask/rask.hpp>
#include <stdexcept>
#include <vector>

long explode(long x) {
  if (x == 5) throw std::runtime_error("boom: cannot handle 5");
  return x;
}
long sum_all(const std::vector<long>& xs) {
  long s = 0;
  for (long x : xs) s += x;
  return s;
}

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  std::vector<rask::Delayed<long>> xs;
  for (long i = 0; i < 32; ++i) xs.push_back(rask::delayed(explode)(i));
  rask::delayed(sum_all)(xs).compute();
  return 0;
}
