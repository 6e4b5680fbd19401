#pragma once
/// Distributed linear algebra on rask arrays, as dask.array.linalg.
///
///     auto [u, s, v] = rask::linalg::svd(a);   // a = u * diag(s) * v, as dask's svd
///     auto [q, r] = rask::linalg::qr(a);
///
/// Tall-skinny arrays (one column of chunks, rows >= columns) factor by CholeskyQR2 or
/// by Householder TSQR, chosen at run time from cond(R1), R1 the Cholesky factor of the
/// Gram X^T X: s alone comes from R1 (CholeskyQR, one pass over x) when cond <= 1e4;
/// everything else from CholeskyQR2 (Fukaya et al.: a second pass over x, R = R2 R1)
/// when cond <= 1e6; above that, or when the Gram is not positive definite, from
/// Householder TSQR: LAPACK's QR per chunk, the R factors merged in a fixed tree over
/// chunk indices (Demmel et al.). Every path is accurate to about 1e-15 of s_max and
/// gives results bitwise the same at any rank and thread count. A random x (or a rechunk
/// of one) is generated tile by tile inside the Gram tasks and again where Q or u needs
/// it, so it never lives whole; a persisted x is read in place; any other x (an HDF5
/// read, an expression) keeps its chunks until the outputs are made (persist it first to
/// hold it once).
/// An array with more columns of chunks is rechunked to one. Only what a computed output
/// needs runs: computing s alone forms no Q and no u. R's diagonal is positive on the
/// CholeskyQR2 path and LAPACK's signs on the Householder path. Building is local.
#include <cstdint>

#include "rask/array.hpp"

namespace rask::linalg {

/// Q (distributed like x, one column of chunks) and R (columns x columns, one chunk).
struct QR {
  Array q;
  Array r;
};

/// x = u * diag(s) * v: u like x, s of length min(rows, columns), v square (dask's v,
/// which is NumPy's vh).
struct SVD {
  Array u;
  Array s;
  Array v;
};

/// QR of a tall-skinny array by TSQR. Throws ShapeError for 0-d or 1-d arrays and for
/// more columns than rows.
QR tsqr(const Array& x);
/// The same as tsqr (dask's qr is tsqr).
QR qr(const Array& x);
/// Singular value decomposition. A tall-skinny array (one column of chunks, rows >=
/// columns): TSQR, then LAPACK's SVD of the small R. Any other 2-d array (square, wide,
/// several columns of chunks; dask raises there): ScaLAPACK's PDGESVD on the chunks
/// where they live, rechunked first to square blocks of the first row chunk's size if
/// they are not regular. A Gram product (a.dot(a.T) or a.T.dot(a), symmetric positive
/// semi-definite by construction) goes to ScaLAPACK's symmetric eigensolvers instead,
/// u = Z, s = |w|, v = sign(w) Z^T sorted by s: PDSYEV for s alone, PDSYEVD (divide and
/// conquer) with vectors, 2-10x faster than PDGESVD. Computing such an svd is
/// collective like any compute. u is
/// rows x k, s has k values, v is k x columns, k = min(rows, columns). Throws ShapeError
/// for 0-d or 1-d arrays.
SVD svd(const Array& x);
/// Randomized rank-k SVD (Halko, Martinsson and Tropp), as dask's svd_compressed: a
/// Gaussian test matrix from `seed`, `n_power_iter` power iterations each followed by a
/// QR; u is rows x k, s has k values, v is k x columns.
SVD svd_compressed(const Array& x, std::int64_t k, int n_power_iter = 0, std::uint64_t seed = 0);

}  // namespace rask::linalg
