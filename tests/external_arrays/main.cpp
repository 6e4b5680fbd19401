// The array API as a user outside the repo writes it: the public names, as written.
#include <cstdio>
#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  // An input file to read back, written by rask itself.
  rask::to_hdf5("in.h5", {{"/x", rask::random::uniform(0.0, 1.0, {900, 400}, {300, 400}, 3)}});

  rask::Array x = rask::random::randint(1, 10, {15, 15}, {5, 5}, /*seed=*/42);
  rask::Array r = rask::random::random({1000000, 500}, {500, 500}, /*seed=*/7);
  rask::Array a = rask::from_hdf5("in.h5", "/x", {300, 200});
  rask::Array y = (x.dot(x.T() + 1) - x.mean()).std();
  rask::Array z = (a + 2 * a).sum(0);  // and x.sum(), a.mean(1), a.std(0), rask::abs(a - 0.5).max(), a.T().dot(a)
  auto [u, s, v] = rask::linalg::svd(a);
  rask::to_hdf5("out.h5", {{"/y", y}, {"/z", z}, {"/s", s}});  // collective

  auto values = rask::compute({y, x.sum(), a.mean(1), a.std(0), rask::abs(a - 0.5).max(), a.T().dot(a), s, u, v});
  if (rt.rank() == 0) {
    std::printf("r %lld x %lld in %lld chunks\n", static_cast<long long>(r.shape()[0]),
                static_cast<long long>(r.shape()[1]), static_cast<long long>(r.num_chunks()));
    std::printf("y = %.12g\n", values[0].item());
    std::printf("x.sum() = %g\n", values[1].item());
    auto m = values[5].matrix();  // a.T().dot(a) as an Eigen matrix, no copy
    std::printf("gram %lld x %lld, symmetric %d\n", static_cast<long long>(m.rows()), static_cast<long long>(m.cols()),
                (m - m.transpose()).norm() <= 1e-12 * m.norm());
    std::printf("u %lld x %lld, s %lld, v %lld x %lld\n", static_cast<long long>(values[7].shape[0]),
                static_cast<long long>(values[7].shape[1]), static_cast<long long>(values[6].shape[0]),
                static_cast<long long>(values[8].shape[0]), static_cast<long long>(values[8].shape[1]));
  }
}
