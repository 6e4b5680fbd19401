#pragma once
// The LAPACK routines rask calls directly (Fortran symbols: arguments by pointer, hidden
// string lengths last), shared by the TSQR code and the ScaLAPACK SVD.
#include <cstddef>
#include <string>

#include "rask/error.hpp"

extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dormqr_(const char* side, const char* trans, const int* m, const int* n, const int* k, const double* a,
             const int* lda, const double* tau, double* c, const int* ldc, double* work, const int* lwork, int* info,
             std::size_t side_len, std::size_t trans_len);
void dtpqrt_(const int* m, const int* n, const int* l, const int* nb, double* a, const int* lda, double* b,
             const int* ldb, double* t, const int* ldt, double* work, int* info);
void dtpmqrt_(const char* side, const char* trans, const int* m, const int* n, const int* k, const int* l,
              const int* nb, const double* v, const int* ldv, const double* t, const int* ldt, double* a,
              const int* lda, double* b, const int* ldb, double* work, int* info, std::size_t side_len,
              std::size_t trans_len);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info,
             std::size_t jobz_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace rask::detail {

[[noreturn]] inline void lapack_failed(const char* routine, int info) {
  throw Error(std::string("LAPACK ") + routine + " failed with info = " + std::to_string(info) +
              (info > 0 ? " (the SVD did not converge; the input may hold NaN or Inf)" : " (an argument was invalid)"));
}

}  // namespace rask::detail
