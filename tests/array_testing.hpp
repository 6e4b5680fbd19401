#pragma once
// What test_array and test_linalg share: gathering an array on every rank, comparing with
// a tolerance, and the text of a collective error.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include <rask/rask.hpp>

namespace rask_testing {

using rask::Array;
using rask::ArrayValue;
using rask::Where;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline Matrix gather(const Array& a) { return a.compute(Where::all).matrix(); }

inline void expect_close(const Matrix& got, const Matrix& want, double rel = 1e-12) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  for (Eigen::Index r = 0; r < got.rows(); ++r)
    for (Eigen::Index c = 0; c < got.cols(); ++c) {
      const double g = got(r, c), w = want(r, c);
      if (std::isnan(w)) {
        EXPECT_TRUE(std::isnan(g)) << "at (" << r << ", " << c << ")";
      } else {
        EXPECT_LE(std::abs(g - w), rel * std::max(1.0, std::abs(w)))
            << "at (" << r << ", " << c << "): " << g << " vs " << w;
      }
    }
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rask::Error& e) {
    EXPECT_TRUE(e.collective()) << e.what();
    return e.what();
  }
  return "no error";
}

}  // namespace rask_testing
