// Linear algebra at every rank count: TSQR, CholeskyQR2, ScaLAPACK's SVDs and the
// randomized SVD, each against LAPACK-free facts (known singular values, orthogonality,
// reconstruction) at the condition each method is chosen for.
#include <gtest/gtest.h>

#include "array_testing.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include <rask/rask.hpp>

namespace {

using namespace rask_testing;

TEST(Linalg, TsqrAndSvdAreAccurate) {
  // Uneven chunks, a chunk shorter than the width (merged), and many tree levels.
  for (auto [rows, cols, chunk] : {std::tuple{300, 8, 20}, std::tuple{1000, 40, 45}, std::tuple{90, 30, 90}}) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " in " + std::to_string(chunk));
    Array a = rask::random::random({rows, cols}, {chunk, cols}, 21) +
              rask::random::normal(0, 1, {rows, cols}, {chunk, cols}, 3);
    Matrix A = gather(a);
    auto [q, r] = rask::linalg::qr(a);
    auto qr = rask::compute({q, r}, Where::all);
    Matrix Q = qr[0].matrix(), R = qr[1].matrix();
    EXPECT_LE((Q * R - A).norm() / A.norm(), 1e-12);
    EXPECT_LE((Q.transpose() * Q - Matrix::Identity(cols, cols)).norm(), 1e-12);
    EXPECT_LE(R.triangularView<Eigen::StrictlyLower>().toDenseMatrix().norm(), 0.0);
    auto [u, s, v] = rask::linalg::svd(a);
    auto usv = rask::compute({u, s, v}, Where::all);
    Matrix U = usv[0].matrix(), V = usv[2].matrix();
    Eigen::VectorXd S = usv[1].matrix().row(0).transpose();
    EXPECT_LE((A - U * S.asDiagonal() * V).norm() / A.norm(), 1e-12);
    EXPECT_LE((U.transpose() * U - Matrix::Identity(cols, cols)).norm(), 1e-12);
    EXPECT_LE((V * V.transpose() - Matrix::Identity(cols, cols)).norm(), 1e-12);
    // Singular values against Eigen's own SVD of the gathered matrix.
    Eigen::BDCSVD<Eigen::MatrixXd> reference(A);
    for (int k = 0; k < cols; ++k) EXPECT_NEAR(S(k), reference.singularValues()(k), 1e-12 * S(0));
    // s alone gives the same numbers without forming u.
    EXPECT_EQ(gather(s).row(0).transpose(), S);
  }
}

// x = Q diag(sv) V with sv from 1 down to 1/cond (geometric) and Q, V orthonormal: the
// singular values are known whatever the method. Q and V come from Householder-grade
// QRs of normal matrices (cond ~ 1), so they are orthonormal to ~1e-15.
Array known_singular_values(std::int64_t rows, std::int64_t cols, std::int64_t chunk, double cond) {
  Array q = rask::linalg::qr(rask::random::normal(0, 1, {rows, cols}, {chunk, cols}, 5)).q;
  Array v = rask::linalg::qr(rask::random::normal(0, 1, {cols, cols}, {cols, cols}, 6)).q;
  Array sv = rask::exp(rask::arange(cols, cols) * (-std::log(cond) / static_cast<double>(cols - 1)));
  return (q * sv).dot(v.T()).persist();
}

void expect_accurate_svd(const Array& a, double cond) {
  const std::int64_t cols = a.shape()[1];
  Matrix A = gather(a);
  Eigen::BDCSVD<Eigen::MatrixXd> reference(A);
  // s alone (the cheapest accurate method for s) and u, s, v together.
  Eigen::VectorXd alone = gather(rask::linalg::svd(a).s).row(0).transpose();
  auto [u, s, v] = rask::linalg::svd(a);
  auto usv = rask::compute({u, s, v}, Where::all);
  Matrix U = usv[0].matrix(), V = usv[2].matrix();
  Eigen::VectorXd S = usv[1].matrix().row(0).transpose();
  for (std::int64_t k = 0; k < cols; ++k) {
    EXPECT_NEAR(alone(k), reference.singularValues()(k), 1e-12 * reference.singularValues()(0)) << k;
    EXPECT_NEAR(S(k), reference.singularValues()(k), 1e-12 * reference.singularValues()(0)) << k;
    EXPECT_NEAR(S(k), std::pow(cond, -static_cast<double>(k) / static_cast<double>(cols - 1)), 1e-12) << k;
  }
  EXPECT_LE((A - U * S.asDiagonal() * V).norm() / A.norm(), 1e-12);
  EXPECT_LE((U.transpose() * U - Matrix::Identity(cols, cols)).norm(), 1e-12);
  EXPECT_LE((V * V.transpose() - Matrix::Identity(cols, cols)).norm(), 1e-12);
  auto [q, r] = rask::linalg::qr(a);
  auto qr = rask::compute({q, r}, Where::all);
  Matrix Q = qr[0].matrix(), R = qr[1].matrix();
  EXPECT_LE((Q * R - A).norm() / A.norm(), 1e-12);
  EXPECT_LE((Q.transpose() * Q - Matrix::Identity(cols, cols)).norm(), 1e-12);
  EXPECT_LE(R.triangularView<Eigen::StrictlyLower>().toDenseMatrix().norm(), 0.0);
}

TEST(Linalg, EveryMethodIsAccurateAtItsCondition) {
  // cond 10: CholeskyQR for s, CholeskyQR2 for u and Q; 1e5: CholeskyQR2 for all;
  // 1e9: the Gram (cond 1e18) is not numerically positive definite, so only the
  // Householder fallback can give these results.
  for (double cond : {10.0, 1e5, 1e9}) {
    SCOPED_TRACE("cond " + std::to_string(cond));
    expect_accurate_svd(known_singular_values(1200, 24, 100, cond), cond);
  }
}

TEST(Linalg, RandomInputIsFusedWithItsGram) {
  // A random x (and a rechunk of one, and chunks short of the width, rechunked) is made
  // again tile by tile in the Gram tasks: the same numbers as the chunks gathered.
  for (auto [rows, cols, chunk] : {std::tuple{2000, 30, 250}, std::tuple{700, 40, 30}, std::tuple{64, 64, 64}}) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " in " + std::to_string(chunk));
    Array x = rask::random::random({rows, cols}, {chunk, cols}, 11);
    Matrix A = gather(x);
    Eigen::BDCSVD<Eigen::MatrixXd> reference(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
    auto [u, s, v] = rask::linalg::svd(x);
    auto usv = rask::compute({u, s, v}, Where::all);
    Matrix U = usv[0].matrix(), V = usv[2].matrix();
    Eigen::VectorXd S = usv[1].matrix().row(0).transpose();
    for (int k = 0; k < cols; ++k) EXPECT_NEAR(S(k), reference.singularValues()(k), 1e-12 * S(0));
    EXPECT_LE((A - U * S.asDiagonal() * V).norm() / A.norm(), 1e-12);
    EXPECT_LE((U.transpose() * U - Matrix::Identity(cols, cols)).norm(), 1e-12);
  }
}

TEST(Linalg, NanInputIsAnErrorOnEveryRank) {
  // NaN sends the first pass to Householder (NaN propagates through QR, as NumPy's),
  // and the SVD of a NaN R is an error on every rank (NumPy raises too), never a hang.
  Array bad = rask::log(rask::random::random({400, 20}, {100, 20}, 4) - 2);
  const std::string message = error_of([&] { (void)rask::linalg::svd(bad).s.compute(); });
  EXPECT_NE(message.find("svd: the input holds NaN or Inf, so its SVD is undefined (NumPy raises LinAlgError "
                         "too); remove or replace them"),
            std::string::npos)
      << message;
  const std::string for_u = error_of([&] { (void)rask::compute({rask::linalg::svd(bad).u}); });
  EXPECT_NE(for_u.find("svd: the input holds NaN or Inf"), std::string::npos) << for_u;
  Matrix q = gather(rask::linalg::qr(bad).q);
  EXPECT_TRUE(q.array().isNaN().all());
}

// u, s, v of m (not tall-skinny: ScaLAPACK) reconstruct m, are orthonormal, and s is
// Eigen's on the gathered matrix, non-negative and descending; s alone (no vectors, so
// another solver path) equals it to rounding.
void expect_accurate_square_or_wide_svd(const Array& m) {
  Matrix A = gather(m);
  auto [u, s, v] = rask::linalg::svd(m);
  const Eigen::Index k = std::min(A.rows(), A.cols());
  auto usv = rask::compute({u, s, v}, Where::all);
  Matrix U = usv[0].matrix(), V = usv[2].matrix();
  Eigen::VectorXd S = usv[1].matrix().row(0).transpose();
  ASSERT_EQ(U.cols(), k);
  ASSERT_EQ(V.rows(), k);
  EXPECT_LE((A - U * S.asDiagonal() * V).norm() / A.norm(), 1e-12);
  EXPECT_LE((U.transpose() * U - Matrix::Identity(k, k)).norm(), 1e-12);
  EXPECT_LE((V * V.transpose() - Matrix::Identity(k, k)).norm(), 1e-12);
  Eigen::BDCSVD<Eigen::MatrixXd> reference(A);
  for (Eigen::Index j = 0; j < k; ++j) {
    EXPECT_NEAR(S(j), reference.singularValues()(j), 1e-12 * S(0)) << j;
    EXPECT_GE(S(j), 0.0) << j;
    if (j > 0) {
      EXPECT_LE(S(j), S(j - 1)) << j;
    }
  }
  Matrix s_only = gather(s);
  for (Eigen::Index j = 0; j < k; ++j) EXPECT_NEAR(s_only(0, j), S(j), 1e-12 * S(0)) << j;
}

TEST(Linalg, SquareAndWideSvdThroughScaLapack) {
  // dask raises on svd(x.dot(x.T)); rask hands the block-cyclic chunks to PDGESVD.
  Array x = rask::random::random({90, 40}, {20, 20}, 4);
  Array a = x.dot(x.T()) + rask::random::normal(0, 1, {90, 90}, {20, 20}, 5);
  Array wide = rask::random::random({30, 70}, {20, 20}, 6);
  for (const Array& m : {a, wide}) {
    SCOPED_TRACE(m.describe());
    expect_accurate_square_or_wide_svd(m);
  }
  // Small blocks straight to PDGESVD; big ones through a redistribution and back.
  for (std::int64_t block : {7, 70}) {
    Array sq = rask::random::random({140, 140}, {block, block}, 8);
    Matrix Q = gather(sq);
    auto [qu, qs, qv] = rask::linalg::svd(sq);
    auto parts = rask::compute({qu, qs, qv}, Where::all);
    Eigen::VectorXd QS = parts[1].matrix().row(0).transpose();
    EXPECT_LE((Q - parts[0].matrix() * QS.asDiagonal() * parts[2].matrix()).norm() / Q.norm(), 1e-12);
  }
  // Uneven chunks are made regular first.
  Array uneven = rask::random::random({50, 50}, {20, 20}, 7).rechunk(rask::ChunkSizes{{20, 10, 20}, {50}});
  Matrix B = gather(uneven);
  Eigen::BDCSVD<Eigen::MatrixXd> reference(B);
  Matrix s = gather(rask::linalg::svd(uneven.rechunk(rask::ChunkSizes{{20, 10, 20}, {25, 25}})).s);
  for (int j = 0; j < 50; ++j) EXPECT_NEAR(s(0, j), reference.singularValues()(j), 1e-12 * s(0, 0));
}

// The SVD of a Gram product (symmetric positive semi-definite) goes through the
// symmetric eigensolvers: PDSYEV for s alone, PDSYEVD with vectors. x.dot(x.T) of a
// 130 x 40 x has rank 40: 90 eigenvalues are rounding-sized, some negative, and u, v
// must still be orthonormal with A = u s v.
TEST(Linalg, SvdOfAGramProductThroughTheSymmetricSolvers) {
  Array x = rask::random::random({130, 40}, {30, 30}, 21);
  Array y = rask::random::normal(0, 1, {37, 90}, {10, 30}, 22);
  for (const Array& m : {x.dot(x.T()), y.T().dot(y), x.T().dot(x)}) {
    SCOPED_TRACE(m.describe());
    expect_accurate_square_or_wide_svd(m);
    // u and v computed apart (as job scripts' records may be) are the same bits as
    // together, so they still fit each other: BLACS's combines are made repeatable
    // (at 3 and 4 ranks the signs of vectors differed between runs before).
    auto [u, s, v] = rask::linalg::svd(m);
    auto usv = rask::compute({u, s, v}, Where::all);
    EXPECT_EQ(gather(u), usv[0].matrix());
    EXPECT_EQ(gather(v), usv[2].matrix());
  }
}

TEST(Linalg, SvdCompressedFindsALowRankMatrix) {
  // A rank-5 matrix: the rank-5 approximation is exact.
  Array left = rask::random::normal(0, 1, {400, 5}, {100, 5}, 1);
  Array right = rask::random::normal(0, 1, {5, 60}, {5, 20}, 2);
  Array a = left.dot(right).rechunk({100, 30});
  Matrix A = gather(a);
  auto [u, s, v] = rask::linalg::svd_compressed(a, 5, 2, 7);
  auto usv = rask::compute({u, s, v}, Where::all);
  Matrix U = usv[0].matrix(), V = usv[2].matrix();
  Eigen::VectorXd S = usv[1].matrix().row(0).transpose();
  EXPECT_EQ(U.rows(), 400);
  EXPECT_EQ(U.cols(), 5);
  EXPECT_EQ(V.rows(), 5);
  EXPECT_EQ(V.cols(), 60);
  EXPECT_LE((A - U * S.asDiagonal() * V).norm() / A.norm(), 1e-10);
  Eigen::BDCSVD<Eigen::MatrixXd> reference(A);
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(S(k), reference.singularValues()(k), 1e-10 * S(0));
}

}  // namespace
