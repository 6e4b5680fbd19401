// Task keys as a program linked the plain way names them: no -rdynamic, a static
// function, a function returning std::string, std::function around a function and
// around a lambda. Every rank prints its keys; they must be equal and readable.
#include <mpi.h>

#include <functional>
#include <iostream>
#include <rask/rask.hpp>
#include <string>

static long scale(long x) { return 3 * x; }
std::string show(long x) { return std::to_string(x); }

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  std::function<long(long)> wrapped = scale;
  std::function<long(long)> lambda = [](long x) { return x - 1; };
  auto a = rask::delayed(scale)(2);
  auto b = rask::delayed(wrapped)(a);
  auto c = rask::delayed(lambda)(b);
  auto d = rask::delayed(show)(c);
  auto name = [](const std::string& key) { return key.substr(0, key.size() - 17); };
  const std::string keys = a.key() + b.key() + c.key() + d.key();
  int same = rt.broadcast_from_root(keys) == keys, same_everywhere = 0;
  MPI_Allreduce(&same, &same_everywhere, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rt.rank() == 0)
    std::cout << "keys " << name(a.key()) << " " << name(b.key()) << " " << name(c.key()) << " " << name(d.key())
              << " shared " << (a.key() == rask::delayed(wrapped)(2).key()) << " equal on every rank "
              << same_everywhere << "\n";
  if (auto v = d.compute()) std::cout << "d = " << *v << "\n";
}
