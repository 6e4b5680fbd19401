// An exception only the last rank sees, outside any compute: that rank reports itself and
// takes the job down, while the others wait in a barrier that would otherwise hang.
#include <rask/rask.hpp>
#include <stdexcept>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  if (rt.rank() == rt.size() - 1) throw std::runtime_error("only this rank saw it");
  rt.barrier();
  return 0;
}
