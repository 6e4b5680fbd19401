// A value with no rask::Serializer wanted on every rank: a plan error on every rank.
#include <rask/rask.hpp>

struct Handle {
  int fd;
};
Handle open_handle(int fd) { return Handle{fd}; }

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  rask::delayed(open_handle)(3).compute(rask::Where::all);
  return 0;
}
