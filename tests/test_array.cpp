// Arrays at every rank count: values against naive loops over the gathered inputs,
// bitwise repeatability across chunkings, errors that name shapes and chunks.
#include <gtest/gtest.h>

#include "array_testing.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <set>

#include <rask/rask.hpp>

namespace {

using namespace rask_testing;

TEST(Array, WorkshopLines) {
  EXPECT_EQ(rask::ones({15}, {5}).sum().compute(Where::all).item(), 15.0);
  ArrayValue s0 = rask::ones({15, 15}, {5, 5}).sum(0).compute(Where::all);
  EXPECT_EQ(s0.shape, (rask::Shape{15}));
  for (double v : s0.values) EXPECT_EQ(v, 15.0);
  Array x = rask::random::randint(1, 10, {15, 15}, {5, 5}, 42);
  EXPECT_EQ(x.dtype(), rask::DType::int64);
  Matrix m = gather(x);
  EXPECT_GE(m.minCoeff(), 1);
  EXPECT_LE(m.maxCoeff(), 9);
  expect_close(gather(x + x.T()), m + m.transpose());
  Matrix product = m * (m.transpose().array() + 1).matrix();
  expect_close(gather(x.dot(x.T() + 1)), product);
  Matrix centered = product.array() - m.mean();
  expect_close(gather(x.dot(x.T() + 1) - x.mean()), centered);
  const double mean = centered.mean();
  const double std = std::sqrt((centered.array() - mean).square().mean());
  EXPECT_NEAR((x.dot(x.T() + 1) - x.mean()).std().compute(Where::all).item(), std, 1e-12 * std);
}

TEST(Array, RandomDoesNotDependOnChunks) {
  // Keyed by (seed, element index): any chunking gives bitwise the same numbers.
  for (auto make : {+[](rask::Shape c) {
                      return rask::random::random({37, 23}, c, 9);
                    },
                    +[](rask::Shape c) {
                      return rask::random::normal(1.0, 2.0, {37, 23}, c, 9);
                    },
                    +[](rask::Shape c) {
                      return rask::random::randint(-5, 5, {37, 23}, c, 9);
                    }}) {
    Matrix a = gather(make({37, 23})), b = gather(make({5, 7})), c = gather(make({10, 1}));
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
  }
  Matrix u = gather(rask::random::uniform(2.0, 3.0, {200, 100}, {64, 64}, 1));
  EXPECT_GE(u.minCoeff(), 2.0);
  EXPECT_LT(u.maxCoeff(), 3.0);
  EXPECT_NEAR(u.mean(), 2.5, 0.01);
  Matrix n = gather(rask::random::normal(0.0, 1.0, {200, 100}, {64, 64}, 1));
  EXPECT_NEAR(n.mean(), 0.0, 0.03);
  EXPECT_NEAR(std::sqrt((n.array() - n.mean()).square().mean()), 1.0, 0.03);
  EXPECT_NE(gather(rask::random::random({4, 4}, {2, 2}, 1)), gather(rask::random::random({4, 4}, {2, 2}, 2)));
}

TEST(Array, ElementwiseAndBroadcasting) {
  Array a = rask::random::random({13, 11}, {4, 3}, 3);
  Array b = rask::random::random({13, 11}, {4, 3}, 4);
  Array row = rask::random::random({11}, {3}, 5);        // broadcasts as a row
  Array col = rask::random::random({13, 1}, {4, 1}, 6);  // broadcasts as a column
  Matrix A = gather(a), B = gather(b), R = gather(row), C = gather(col);
  Matrix want(13, 11);
  for (int r = 0; r < 13; ++r)
    for (int c = 0; c < 11; ++c)
      want(r, c) = std::pow(std::exp(A(r, c)) - 2 * B(r, c) / (R(0, c) + 1), 2) * std::sqrt(C(r, 0)) +
                   std::log(A(r, c)) - std::abs(B(r, c) - 0.5);
  Array e = rask::pow(rask::exp(a) - 2 * b / (row + 1), 2) * rask::sqrt(col) + rask::log(a) - rask::abs(b - 0.5);
  expect_close(gather(e), want);
  // A column against a 1-d array (a row): the outer broadcast.
  Matrix outer = gather(col + rask::arange(13, 4));
  ASSERT_EQ(outer.rows(), 13);
  ASSERT_EQ(outer.cols(), 13);
  for (int r = 0; r < 13; ++r)
    for (int c = 0; c < 13; ++c) EXPECT_EQ(outer(r, c), C(r, 0) + c);
  // Comparisons give bool; bool with bool follows NumPy: + is or, * is and, - and
  // negation are refused with NumPy's TypeError text.
  Array lt = a < b;
  EXPECT_EQ(lt.dtype(), rask::DType::boolean);
  Matrix L = gather(lt);
  for (int r = 0; r < 13; ++r)
    for (int c = 0; c < 11; ++c) EXPECT_EQ(L(r, c), A(r, c) < B(r, c) ? 1.0 : 0.0);
  EXPECT_EQ((lt + lt).dtype(), rask::DType::boolean);
  EXPECT_EQ((lt * lt).dtype(), rask::DType::boolean);
  EXPECT_EQ((lt + 1).dtype(), rask::DType::int64);
  Array ge = a >= b;
  Matrix G = gather(ge);
  Matrix bool_or = gather(lt + ge), bool_and = gather(lt * (a < 0.5)), count = gather(lt + 1);
  for (int r = 0; r < 13; ++r)
    for (int c = 0; c < 11; ++c) {
      EXPECT_EQ(bool_or(r, c), (L(r, c) != 0 || G(r, c) != 0) ? 1.0 : 0.0);
      EXPECT_EQ(bool_and(r, c), (L(r, c) != 0 && A(r, c) < 0.5) ? 1.0 : 0.0);
      EXPECT_EQ(count(r, c), L(r, c) + 1);
    }
  EXPECT_THROW((void)(lt - lt), rask::DTypeError);
  EXPECT_NE(error_of([&] { (void)(lt - lt); }).find("numpy boolean subtract, the `-` operator, is not supported"),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)(-lt); }).find("numpy boolean negative, the `-` operator, is not supported"),
            std::string::npos);
  EXPECT_EQ(gather((a >= 0.5).sum()).value(), (A.array() >= 0.5).count());
  // 0-d arrays: x - x.mean()
  expect_close(gather(a - a.mean()), A.array() - A.mean());
  // arange and full
  Matrix ar = gather(rask::arange(3, 40, 4, 3));
  for (int k = 0; k < ar.cols(); ++k) EXPECT_EQ(ar(0, k), 3 + 4 * k);
  EXPECT_EQ(ar.cols(), 10);
  expect_close(gather(rask::full({3, 4}, 2.5, {2, 2}) * rask::zeros({3, 4}, {2, 2}) + rask::ones({4}, {2})),
               Matrix::Ones(3, 4));
}

TEST(Array, NanAndInfPropagateAsNumPy) {
  Array z = rask::zeros({4, 4}, {2, 2});
  Array nan = z / z;  // 0/0
  Array inf = (z + 1) / z;
  EXPECT_TRUE(std::isnan(nan.sum().compute(Where::all).item()));
  EXPECT_TRUE(std::isinf(inf.sum().compute(Where::all).item()));
  EXPECT_TRUE(std::isnan((inf - inf).mean().compute(Where::all).item()));
  Array x = rask::arange(16, 5) * 1.0;
  Array with_nan = x + rask::log(x - 7);  // NaN below 7, -inf at 7
  EXPECT_TRUE(std::isnan(with_nan.max().compute(Where::all).item()));
  EXPECT_TRUE(std::isnan(with_nan.min().compute(Where::all).item()));
  EXPECT_EQ(with_nan.argmax().compute(Where::all).item(), 0);  // the first NaN, as NumPy
}

struct ReductionCase {
  const char* name;
  std::function<Array(const Array&, std::optional<int>, bool)> op;
  std::function<double(const std::vector<double>&)> naive;
};

double naive_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double naive_mean(const std::vector<double>& v) { return naive_sum(v) / v.size(); }
double naive_var(const std::vector<double>& v) {
  double m = naive_mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / v.size();
}

TEST(Array, ReductionsEveryAxisAgainstLoops) {
  std::vector<ReductionCase> cases = {
      {"sum", [](const Array& a, auto ax, bool k) { return a.sum(ax, k); }, naive_sum},
      {"prod", [](const Array& a, auto ax, bool k) { return a.prod(ax, k); },
       [](const std::vector<double>& v) {
         double p = 1;
         for (double x : v) p *= x;
         return p;
       }},
      {"mean", [](const Array& a, auto ax, bool k) { return a.mean(ax, k); }, naive_mean},
      {"var", [](const Array& a, auto ax, bool k) { return a.var(ax, k); }, naive_var},
      {"std", [](const Array& a, auto ax, bool k) { return a.std(ax, k); },
       [](const std::vector<double>& v) { return std::sqrt(naive_var(v)); }},
      {"min", [](const Array& a, auto ax, bool k) { return a.min(ax, k); },
       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
      {"max", [](const Array& a, auto ax, bool k) { return a.max(ax, k); },
       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
      {"argmin", [](const Array& a, auto ax, bool k) { return a.argmin(ax, k); },
       [](const std::vector<double>& v) { return double(std::min_element(v.begin(), v.end()) - v.begin()); }},
      {"argmax", [](const Array& a, auto ax, bool k) { return a.argmax(ax, k); },
       [](const std::vector<double>& v) { return double(std::max_element(v.begin(), v.end()) - v.begin()); }},
  };
  // Uneven edge chunks; values near 1 keep prod finite. The fused chain feeds the reduction.
  Array base = rask::random::random({23, 17}, {5, 4}, 11);
  Array x = (base + 1) * 0.5 + 0.5;
  Matrix X = gather(x);
  for (const auto& rc : cases) {
    SCOPED_TRACE(rc.name);
    std::vector<double> all(X.data(), X.data() + X.size());
    ArrayValue none = rc.op(x, std::nullopt, false).compute(Where::all);
    EXPECT_TRUE(none.shape.empty());
    EXPECT_NEAR(none.item(), rc.naive(all), 1e-12 * std::max(1.0, std::abs(rc.naive(all))));
    ArrayValue kept = rc.op(x, std::nullopt, true).compute(Where::all);
    EXPECT_EQ(kept.shape, (rask::Shape{1, 1}));
    for (int axis : {0, 1, -1}) {
      const int ax = axis < 0 ? axis + 2 : axis;
      ArrayValue r = rc.op(x, axis, false).compute(Where::all);
      ArrayValue k = rc.op(x, axis, true).compute(Where::all);
      EXPECT_EQ(r.shape, (rask::Shape{ax == 0 ? 17 : 23}));
      EXPECT_EQ(k.shape, (ax == 0 ? rask::Shape{1, 17} : rask::Shape{23, 1}));
      EXPECT_EQ(r.values, k.values);
      for (int idx = 0; idx < (ax == 0 ? 17 : 23); ++idx) {
        std::vector<double> line;
        for (int t = 0; t < (ax == 0 ? 23 : 17); ++t) line.push_back(ax == 0 ? X(t, idx) : X(idx, t));
        EXPECT_NEAR(r.values[idx], rc.naive(line), 1e-12 * std::max(1.0, std::abs(rc.naive(line))));
      }
    }
  }
  // 1-d arrays: axis 0 is the only axis.
  Array v = rask::random::random({29}, {6}, 2);
  Matrix V = gather(v);
  EXPECT_NEAR(v.sum(0).compute(Where::all).item(), V.sum(), 1e-12);
  EXPECT_EQ(v.argmax(0).compute(Where::all).item(), double(std::max_element(V.data(), V.data() + 29) - V.data()));
}

TEST(Array, ReductionsAreBitwiseTheSameForAnyChunkOrder) {
  // The tree is over chunk indices: recomputing gives the same bits, and the mean of
  // an integer array is exact.
  Array x = rask::random::normal(3.0, 2.0, {300, 200}, {64, 48}, 5);
  const double a = x.std().compute(Where::all).item();
  const double b = x.std().compute(Where::all).item();
  EXPECT_EQ(a, b);
  Array i = rask::arange(1000, 7);
  EXPECT_EQ(i.mean().compute(Where::all).item(), 499.5);
  EXPECT_EQ(i.sum().dtype(), rask::DType::int64);
  EXPECT_EQ(i.mean().dtype(), rask::DType::float64);
}

TEST(Array, DotEveryShape) {
  Array a = rask::random::random({17, 13}, {5, 4}, 1);
  Array b = rask::random::random({13, 9}, {4, 3}, 2);
  Array v = rask::random::random({13}, {4}, 3);
  Array w = rask::random::random({17}, {5}, 4);
  Matrix A = gather(a), B = gather(b), V = gather(v), W = gather(w);
  auto naive = [](const Matrix& l, const Matrix& r) {
    Matrix out = Matrix::Zero(l.rows(), r.cols());
    for (int i = 0; i < l.rows(); ++i)
      for (int j = 0; j < r.cols(); ++j)
        for (int k = 0; k < l.cols(); ++k) out(i, j) += l(i, k) * r(k, j);
    return out;
  };
  expect_close(gather(a.dot(b)), naive(A, B));
  expect_close(gather(a.T().dot(a)), naive(A.transpose(), A));
  expect_close(gather(a.dot(a.T())), naive(A, A.transpose()));
  EXPECT_EQ(a.dot(v).shape(), (rask::Shape{17}));
  expect_close(gather(a.dot(v)), naive(A, V.transpose()).transpose());
  expect_close(gather(w.dot(a)), naive(W, A));
  EXPECT_NEAR(v.dot(v).compute(Where::all).item(), V.squaredNorm(), 1e-12);
  // Products feed elementwise chains and reductions.
  expect_close(gather((a.dot(b) * 2).sum(0)), naive(A, B).colwise().sum() * 2);
}

// Gram products (a.dot(a.T), a.T.dot(a)) multiply one chunk of each mirrored pair and
// transpose the other; a.dot(a.T + c) is lowered as a.dot(a.T) + c * row sums. Each
// form, with uneven chunks, against loops on the gathered operand.
TEST(Array, GramProductsAgainstLoops) {
  Array a = rask::random::random({23, 31}, {7, 6}, 11);
  Array k = rask::random::randint(-5, 9, {19, 8}, {4, 3}, 12);
  Array c = rask::random::random({31, 23}, {6, 7}, 13);
  Matrix A = gather(a), K = gather(k), C = gather(c);
  auto naive = [](const Matrix& l, const Matrix& r) {
    Matrix out = Matrix::Zero(l.rows(), r.cols());
    for (int i = 0; i < l.rows(); ++i)
      for (int j = 0; j < r.cols(); ++j)
        for (int e = 0; e < l.cols(); ++e) out(i, j) += l(i, e) * r(e, j);
    return out;
  };
  const Matrix At = A.transpose();
  Matrix g = gather(a.dot(a.T()));
  expect_close(g, naive(A, At));
  EXPECT_EQ(g, g.transpose()) << "a . a^T is exactly symmetric";
  expect_close(gather(a.T().dot(a)), naive(At, A));
  expect_close(gather(a.dot(a.T() + 1.5)), naive(A, (At.array() + 1.5).matrix()));
  expect_close(gather(a.dot(a.T() - 2)), naive(A, (At.array() - 2).matrix()));
  expect_close(gather(a.dot(2 - a.T())), naive(A, (2 - At.array()).matrix()));
  expect_close(gather((a.T() + 3).dot(a)), naive((At.array() + 3).matrix(), A));
  expect_close(gather((a.T() - 0.5).dot(a)), naive((At.array() - 0.5).matrix(), A));
  // Not Gram products: another operand, and a shift that is not a 0-d constant.
  expect_close(gather(a.dot(c + 1)), naive(A, (C.array() + 1).matrix()));
  Array row = rask::random::random({23}, {7}, 14);
  const Matrix R = gather(row);
  Matrix shifted_by_row = At;
  for (int r = 0; r < At.rows(); ++r) shifted_by_row.row(r) += R.row(0);
  expect_close(gather(a.dot(a.T() + row)), naive(A, shifted_by_row));
  // Integers: exact.
  const Matrix Kt = K.transpose();
  EXPECT_EQ(gather(k.dot(k.T() + 1)), naive(K, (Kt.array() + 1).matrix()));
  EXPECT_EQ(gather(k.T().dot(k)), naive(Kt, K));
  EXPECT_EQ(k.dot(k.T() + 1).dtype(), rask::DType::int64);
  // Kept where its chunks live, and read again.
  Array p = a.dot(a.T()).persist();
  expect_close(gather(p + p.T()), 2 * naive(A, At));
  expect_close(gather((a.dot(a.T() + 1) - a.mean()).std(1)),
               [&] {
                 Matrix m = (naive(A, (At.array() + 1).matrix()).array() - A.mean()).matrix();
                 Matrix out(1, m.rows());
                 for (int r = 0; r < m.rows(); ++r) {
                   const double mean = m.row(r).mean();
                   out(0, r) = std::sqrt((m.row(r).array() - mean).square().mean());
                 }
                 return out;
               }());
}

TEST(Array, RechunkAndSlicing) {
  Array x = rask::random::random({19, 14}, {5, 4}, 8);
  Matrix X = gather(x);
  Array y = x.rechunk({7, 6});
  EXPECT_EQ(y.chunks(), (rask::ChunkSizes{{7, 7, 5}, {6, 6, 2}}));
  EXPECT_EQ(gather(y), X);
  EXPECT_EQ(gather(x.rechunk(rask::ChunkSizes{{19}, {1, 13}})), X);
  Array s = x(rask::Slice{2, 17, 3}, rask::Slice{-10, 100, 2});
  Matrix S = gather(s);
  ASSERT_EQ(S.rows(), 5);
  ASSERT_EQ(S.cols(), 5);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(S(r, c), X(2 + 3 * r, 4 + 2 * c));
  Matrix rows = gather(x(rask::Slice{.start = 3, .stop = 4}));
  EXPECT_EQ(rows, X.row(3));
  Array v = rask::arange(30, 7);
  Matrix tail = gather(v(rask::Slice{.start = -5}));
  for (int k = 0; k < 5; ++k) EXPECT_EQ(tail(0, k), 25 + k);
  EXPECT_EQ(gather(x(rask::Slice{5, 5})).size(), 0);
}

TEST(Array, PersistKeepsChunksAndIsReused) {
  Array x = rask::random::random({40, 40}, {10, 10}, 3);
  Matrix X = gather(x);
  Array p = x.persist();
  EXPECT_EQ(p.shape(), x.shape());
  EXPECT_EQ(gather(p), X);
  expect_close(gather((p + p.T()).sum(0)), (X + X.transpose()).colwise().sum());
  // Many chunks: every one is stored and found (task keys of chunk pairs stay distinct).
  Array many = rask::random::random({120, 90}, {3, 2}, 5);
  EXPECT_EQ(gather(many.persist()), gather(many));
  // A persisted expression serializes and deserializes while it lives.
  Array back = Array::deserialize((p * 2).serialize());
  EXPECT_EQ(gather(back), 2 * X);
}

TEST(Array, SumsOfTransposedTermsAgainstLoops) {
  // (x + x.T).sum(axis) and kin sum each chunk along both axes in one pass; the result
  // must be the naive loop's, for persisted and computed terms, uneven chunks, each axis,
  // keepdims, and a difference (signs).
  Array x = rask::random::random({50, 50}, {20, 20}, 8);
  Array y = rask::random::normal(0, 1, {50, 50}, {20, 20}, 9);
  Array p = x.persist();
  Matrix X = gather(x), Y = gather(y);
  auto naive = [](const Matrix& m, int axis) {
    Matrix out = axis == 0 ? Matrix(1, m.cols()) : Matrix(1, m.rows());
    for (Eigen::Index k = 0; k < out.cols(); ++k) {
      double total = 0;
      for (Eigen::Index e = 0; e < (axis == 0 ? m.rows() : m.cols()); ++e) total += axis == 0 ? m(e, k) : m(k, e);
      out(0, k) = total;
    }
    return out;
  };
  for (int axis : {0, 1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    expect_close(gather((p + p.T()).sum(axis)), naive(X + X.transpose(), axis));
    expect_close(gather((x + x.T()).sum(axis)), naive(X + X.transpose(), axis));
    expect_close(gather((p - y.T() + y).sum(axis)), naive(X - Y.transpose() + Y, axis));
    expect_close(gather((y.T() - p).sum(axis, true)).reshaped<Eigen::RowMajor>(1, 50),
                 naive(Y.transpose() - X, axis));
  }
}

TEST(Array, VisualizeDrawsTheChunkGraph) {
  Array x = rask::random::randint(1, 10, {15, 15}, {5, 5}, 42);
  const std::string path = "array_visualize_" + std::to_string(rask::Runtime::current().size()) + ".dot";
  (x.dot(x.T() + 1) - x.mean()).std().visualize(path);
  if (rask::Runtime::current().rank() == 0) {
    std::ifstream in(path);
    std::string dot((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // x.T + 1 is not made: x.dot(x.T + 1) is lowered as x.dot(x.T) + row sums (dot.cpp).
    for (const char* name : {"digraph", "randint", "dot-syrk", "dot-transpose", "mean", "std", "sum"})
      EXPECT_NE(dot.find(name), std::string::npos) << name;
    std::remove(path.c_str());
  }
}

TEST(Array, ExpressionSerializesSmallAndRoundTrips) {
  Array r = rask::random::random({1000000, 500}, {500, 500}, 7);
  Array e = ((r + 1) * 2 - r.mean()).std(0);
  rask::Bytes bytes = e.serialize();
  EXPECT_LT(bytes.size(), 400u) << "4000 chunks must not cost bytes per chunk";
  Array back = Array::deserialize(bytes);
  EXPECT_EQ(back.token(), e.token());
  EXPECT_EQ(back.shape(), e.shape());
  EXPECT_EQ(back.chunks(), e.chunks());
  Array x = rask::random::randint(1, 10, {15, 15}, {5, 5}, 42);
  Array y = (x.dot(x.T() + 1) - x.mean()).std();
  Array y2 = Array::deserialize(y.serialize());
  EXPECT_EQ(y2.compute(Where::all).item(), y.compute(Where::all).item());
  auto [u, s, v] = rask::linalg::svd(rask::random::random({60, 6}, {20, 6}, 1));
  EXPECT_EQ(gather(Array::deserialize(s.serialize())), gather(s));
  rask::Bytes junk = {std::byte{1}, std::byte{2}};
  EXPECT_THROW(Array::deserialize(junk), rask::SerializeError);
  bytes.resize(bytes.size() / 2);
  EXPECT_THROW(Array::deserialize(bytes), rask::SerializeError);
}

TEST(Array, EveryNodeFieldCrossesTheWireAndMakesTheToken) {
  // Expressions differing in one parameter of one operation (seed, value, start, step,
  // axis, operator, factorization part, ...): each must keep a token of its own (a
  // parameter missing from the token would merge them) and come back from the wire whole.
  using rask::Slice;
  Array x = rask::random::random({12, 12}, {4, 4}, 3);
  auto [su, ss, sv] = rask::linalg::svd(x);  // square: ScaLAPACK
  auto [tu, ts, tv] = rask::linalg::svd(rask::random::random({60, 6}, {20, 6}, 1));  // tall: TSQR
  auto [q, r] = rask::linalg::qr(rask::random::random({60, 6}, {20, 6}, 1));
  std::vector<Array> exprs = {rask::full({12, 12}, 2.0, {4, 4}),
                              rask::full({12, 12}, 3.0, {4, 4}),
                              rask::arange(0, 10, 1, 5),
                              rask::arange(1, 11, 1, 5),
                              rask::arange(0, 20, 2, 5),
                              x,
                              rask::random::random({12, 12}, {4, 4}, 4),
                              rask::random::uniform(0.0, 2.0, {12, 12}, {4, 4}, 3),
                              rask::random::uniform(-1.0, 1.0, {12, 12}, {4, 4}, 3),
                              rask::random::normal(0.0, 1.0, {12, 12}, {4, 4}, 3),
                              rask::random::normal(0.0, 2.0, {12, 12}, {4, 4}, 3),
                              -x,
                              rask::exp(x),
                              x + x,
                              x * x,
                              x.sum(0),
                              x.prod(0),
                              x.sum(1),
                              x.sum(0, true),
                              x(Slice{0, 6, 1}, Slice{0, 6, 1}),
                              x(Slice{4, 10, 1}, Slice{0, 6, 1}),
                              x(Slice{0, 6, 1}, Slice{4, 10, 1}),
                              x(Slice{0, 12, 2}, Slice{0, 6, 1}),
                              x(Slice{0, 6, 1}, Slice{0, 12, 2}),
                              x.rechunk({6, 6}),
                              x.T(),
                              x.dot(x),
                              su,
                              ss,
                              sv,
                              tu,
                              ts,
                              tv,
                              q,
                              r,
                              x.persist(),
                              (x + 1).persist()};
  std::set<std::uint64_t> tokens;
  for (std::size_t k = 0; k < exprs.size(); ++k) {
    SCOPED_TRACE("expression " + std::to_string(k) + ": " + exprs[k].describe());
    tokens.insert(exprs[k].token());
    Array back = Array::deserialize(exprs[k].serialize());
    EXPECT_EQ(back.token(), exprs[k].token());
    EXPECT_EQ(back.serialize(), exprs[k].serialize());
    EXPECT_EQ(gather(back), gather(exprs[k]));
  }
  EXPECT_EQ(tokens.size(), exprs.size());
}

// Operands chunked differently meet in the chunks Dask 2022.12 gives (its unify_chunks:
// every boundary of either operand), with a naive loop's values.
TEST(Array, DifferentChunksUnifyAsDask) {
  using rask::ChunkSizes;
  const auto x = rask::random::random({10, 6}, {3, 2}, 1);
  const Matrix mx = gather(x);
  struct Case {
    Array other;
    ChunkSizes want;  // da.ones((10, 6), chunks=(3, 2)) + other: Dask's chunks
  };
  const Case cases[] = {
      {rask::random::random({10, 6}, {4, 5}, 2), {{3, 1, 2, 2, 1, 1}, {2, 2, 1, 1}}},
      {rask::random::random({6}, {4}, 3), {{3, 3, 3, 1}, {2, 2, 2}}},
      {rask::random::random({10, 1}, {4, 1}, 4), {{3, 1, 2, 2, 1, 1}, {2, 2, 2}}},
      {rask::random::random({1, 6}, {1, 5}, 5), {{3, 3, 3, 1}, {2, 2, 1, 1}}},
  };
  for (const auto& [other, want] : cases) {
    const Matrix mo = gather(other);
    Matrix naive(10, 6);
    for (Eigen::Index r = 0; r < 10; ++r)
      for (Eigen::Index c = 0; c < 6; ++c) naive(r, c) = mx(r, c) + mo(mo.rows() == 1 ? 0 : r, mo.cols() == 1 ? 0 : c);
    const Array sum = x + other;
    EXPECT_EQ(sum.chunks(), want) << other.describe();
    expect_close(gather(sum), naive);
    expect_close(gather(other + x), naive);  // the same chunks either way round
    EXPECT_EQ((other + x).chunks(), want);
  }
  // da.ones(10, chunks=3) + da.ones(10, chunks=4), and explicit sizes.
  EXPECT_EQ((rask::ones({10}, {3}) + rask::arange(10, 4)).chunks(), (ChunkSizes{{3, 1, 2, 2, 1, 1}}));
  expect_close(gather(rask::ones({10}, {3}) + rask::arange(10, 4)),
               Matrix(Eigen::RowVectorXd::LinSpaced(10, 0, 9).array() + 1.0));
  EXPECT_EQ((rask::ones({10}, {5}) + rask::ones({10}, {10}).rechunk(ChunkSizes{{1, 2, 7}})).chunks(),
            (ChunkSizes{{1, 2, 2, 5}}));
  EXPECT_EQ((rask::ones({15, 15}, {5, 5}) * rask::ones({15, 15}, {3, 5})).chunks(),
            (ChunkSizes{{3, 2, 1, 3, 1, 2, 3}, {5, 5, 5}}));
  // A single chunk meets any chunking; it does not split the other operand further.
  EXPECT_EQ((rask::ones({10}, {10}) + rask::ones({10}, {3})).chunks(), (ChunkSizes{{3, 3, 3, 1}}));

  // Matrix products unify the inner axis only.
  const auto b = rask::random::random({6, 4}, {4, 3}, 6);
  const Array p = x.dot(b);
  EXPECT_EQ(p.chunks(), (ChunkSizes{{3, 3, 3, 1}, {3, 1}}));
  expect_close(gather(p), mx * gather(b));
  const auto v = rask::random::random({6}, {4}, 7);
  const Matrix mv = gather(v);
  EXPECT_EQ(x.dot(v).chunks(), (ChunkSizes{{3, 3, 3, 1}}));
  expect_close(gather(x.dot(v)), (mx * mv.transpose()).transpose());
  const auto w = rask::random::random({6, 4}, {3, 3}, 8);
  EXPECT_EQ(v.dot(w).chunks(), (ChunkSizes{{3, 1}}));
  expect_close(gather(v.dot(w)), mv * gather(w));
  const auto u = rask::random::random({6}, {3}, 9);
  EXPECT_NEAR(v.dot(u).compute(Where::all).item(), (mv.array() * gather(u).array()).sum(), 1e-12);
}

TEST(Array, ChunkSpecificationsAsDask) {
  using rask::AutoChunks;
  using rask::ChunkSizes;
  using rask::DimChunks;
  EXPECT_EQ(rask::normalize_chunks({DimChunks{2}, DimChunks{-1}}, {5, 7}), (ChunkSizes{{2, 2, 1}, {7}}));
  EXPECT_EQ(rask::normalize_chunks({DimChunks{2}, DimChunks{AutoChunks{}}}, {5, 7}), (ChunkSizes{{2, 2, 1}, {7}}));
  EXPECT_EQ(rask::normalize_chunks({DimChunks{1}, DimChunks{2}, DimChunks{7}}, {10}), (ChunkSizes{{1, 2, 7}}));
  EXPECT_EQ(rask::normalize_chunks({DimChunks{3}}, {0}), (ChunkSizes{{0}}));
  // chunks='auto' as Dask 2022.12 gives it for float64 (128 MiB chunks).
  EXPECT_EQ(rask::auto_chunks({20000, 20000}), (rask::Shape{4096, 4096}));
  EXPECT_EQ(rask::auto_chunks({200000000}), (rask::Shape{16777216}));
  EXPECT_EQ(rask::auto_chunks({100, 100000000}), (rask::Shape{100, 167772}));
  EXPECT_EQ(rask::auto_chunks({30, 40}), (rask::Shape{30, 40}));
  EXPECT_EQ(error_of([&] { (void)rask::normalize_chunks({DimChunks{2}, DimChunks{2}, DimChunks{2}}, {4, 4}); }),
            "chunks=(2, 2, 2) gives 3 dimension(s) for shape (4, 4); give one chunk size per dimension");
  EXPECT_EQ(error_of([&] { (void)rask::normalize_chunks({DimChunks{0}}, {4}); }),
            "chunk size 0 for dimension 0 of shape (4,) must be positive");
  EXPECT_EQ(error_of([&] { (void)rask::normalize_chunks({DimChunks{std::vector<std::int64_t>{3}}}, {4}); }),
            "chunks (3,) for dimension 0 sum to 3, not the shape's 4");
  EXPECT_EQ(rask::regular_chunk_size({{5, 5, 2}, {4}}), (rask::Shape{5, 4}));
  EXPECT_EQ(rask::regular_chunk_size({{5, 2, 5}}), std::nullopt);
  EXPECT_EQ(rask::unify_dim({5, 2, 3}, {2, 3, 5}), (std::vector<std::int64_t>{2, 3, 2, 3}));
}

TEST(Array, ShapeErrorsNameShapesAndChunks) {
  Array a = rask::ones({15, 15}, {5, 5});
  Array b = rask::ones({10, 15}, {5, 5});
  EXPECT_EQ(error_of([&] { (void)(a + b); }),
            "add: shapes cannot be broadcast together: shape (15, 15) chunks ((5, 5, 5), (5, 5, 5)) and shape (10, 15) "
            "chunks ((5, 5), (5, 5, 5)); rechunk one operand to the other's chunks (x.rechunk(...)) or fix the shapes");
  EXPECT_EQ(
      error_of([&] { (void)a.dot(b); }),
      "dot: shapes are not aligned: shape (15, 15) chunks ((5, 5, 5), (5, 5, 5)) and shape (10, 15) chunks ((5, 5), "
      "(5, 5, 5)); the left operand's last axis must match the right operand's first axis in length and chunks "
      "(rechunk one of them)");
  EXPECT_EQ(error_of([&] { (void)a.sum(2); }),
            "sum: axis 2 is out of bounds for an array of dimension 2 (shape (15, 15))");
  EXPECT_EQ(error_of([&] {
              (void)rask::ones({4, 4}, {2});
            }),
            "full: chunks (2,) do not match shape (4, 4): give one chunk size per dimension");
  EXPECT_EQ(error_of([&] { (void)rask::ones({4, 4}, {0, 2}); }), "full: chunk size must be positive, got 0");
  EXPECT_EQ(error_of([&] { (void)rask::random::randint(5, 5, {4}, {2}, 1); }),
            "randint: high (5) must be greater than low (5)");
  EXPECT_EQ(error_of([&] {
              (void)a.rechunk(rask::ChunkSizes{{5, 5}, {15}});
            }),
            "rechunk of rask.Array<shape=(15, 15), chunks=((5, 5, 5), (5, 5, 5)), dtype=float64>: chunks sum to 10 but "
            "the axis has 15 elements");
  EXPECT_EQ(error_of([&] {
              (void)a(rask::Slice{0, 5, -1});
            }),
            "slicing rows of rask.Array<shape=(15, 15), chunks=((5, 5, 5), (5, 5, 5)), dtype=float64>: slice step must "
            "be positive, got -1");
  EXPECT_EQ(
      error_of([&] {
        (void)rask::linalg::tsqr(rask::ones({4, 9}, {4, 9}));
      }),
      "tsqr: shape (4, 9) chunks ((4,), (9,)) has more columns than rows; TSQR factors tall-skinny arrays (factor "
      "x.T() instead)");
  EXPECT_EQ(error_of([&] { (void)rask::ones({0}, {3}).max(); }),
            "max: zero-size array (shape (0,)) has no identity for this reduction");
}

}  // namespace
