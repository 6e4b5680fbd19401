// The README's program, as a user outside the repo writes it.
#include <iostream>
#include <rask/rask.hpp>

long inc(long x) { return x + 1; }
long add(long x, long y) { return x + y; }

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  auto x = rask::delayed(inc)(1);
  auto y = rask::delayed(inc)(2);
  auto z = rask::delayed(add)(x, y) * 10;
  if (rt.rank() == 0) z.plan().print(std::cout);
  z.visualize("z.dot");
  rask::Delayed<long> copy = z;
  std::optional<long> value = copy.compute();
  if (value) std::cout << "z = " << *value << "\n";
  auto [a, b] = rask::compute(x, rask::delayed(inc, {.name = "bump", .cost = 0.5})(y));
  if (rt.rank() == 0) std::cout << "a, b = " << *a << ", " << *b << "\n";
}
