// Lowering array expressions to chunk tasks, and the kernels those tasks run: fused
// elementwise programs streamed in row tiles, reduction partials and their fixed-order
// combination, rechunk and slice copies. Matrix products are in dot.cpp.
#include "array/lower.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "rask/token.hpp"

namespace rask::detail {

Token chunk_token(const ArrayNode& n, std::int64_t bi, std::int64_t bj, std::uint64_t role) {
  Token t = token_combine(n.token, static_cast<std::uint64_t>(bi));
  t = token_combine(t, static_cast<std::uint64_t>(bj));
  return token_combine(t, role);
}

void single_threaded_blas() { openblas_set_num_threads(1); }

BlasThreads::BlasThreads(int threads) { openblas_set_num_threads(std::max(1, threads)); }
BlasThreads::~BlasThreads() { single_threaded_blas(); }

Lowering::Lowering(Graph& graph, int nranks, std::shared_ptr<const Prepared> prepared)
    : graph_(graph), nranks_(nranks), prepared_(std::move(prepared)) {
  single_threaded_blas();
}

const ArrayNodePtr& Lowering::prepared(Token token) const {
  if (prepared_)
    if (auto it = prepared_->results.find(token); it != prepared_->results.end()) return it->second;
  throw Error("internal: a ScaLAPACK result was not prepared before lowering");
}

std::pair<bool, bool> Lowering::svd_wants(Token x, const ArrayNode& part) const {
  if (prepared_)
    if (auto it = prepared_->svd_wants.find(x); it != prepared_->svd_wants.end()) return it->second;
  const auto which = static_cast<LinalgPart>(part.sub);
  return {which == LinalgPart::svd_u, which == LinalgPart::svd_v};
}

TaskId Lowering::add(const std::string& name, Token token, std::vector<TaskId> deps,
                     std::function<Block(const Inputs&)> body, int owner, double cost, double bytes) {
  return add_as<Block>(name, token, std::move(deps), std::move(body), owner, cost, bytes);
}

std::vector<TaskId> Lowering::chunks(const ArrayNodePtr& n) {
  std::vector<TaskId> out;
  for (std::int64_t bi = 0; bi < n->row_blocks(); ++bi)
    for (std::int64_t bj = 0; bj < n->col_blocks(); ++bj) out.push_back(chunk(n, bi, bj));
  return out;
}

TaskId Lowering::chunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (auto id = graph_.find(chunk_token(*n, bi, bj))) return *id;
  switch (n->op) {
    case Op::full:
    case Op::arange:
    case Op::unary:
    case Op::binary:
    case Op::transpose:
      return fused(n, bi, bj);
    case Op::random:
      return random(n, bi, bj);
    case Op::hdf5:
      return lower_hdf5_chunk(*this, n, bi, bj);
    case Op::persisted:
      return persisted(n, bi, bj);
    case Op::dot:
      return dot(n, bi, bj);
    case Op::reduce:
      return reduce(n, bi, bj);
    case Op::rechunk:
      return rechunk(n, bi, bj);
    case Op::slice:
      return slice(n, bi, bj);
    case Op::linalg:
      if (n->ints[0] == 1) return lower_scalapack_chunk(*this, n, bi, bj);
      return lower_linalg_chunk(*this, n, bi, bj);
    case Op::literal:
      return literal(n, bi, bj);
  }
  throw Error("internal: unknown array operation");
}

// ---------------------------------------------------------------------------------------
// Fused elementwise programs.
//
// A chain of elementwise operations over one output chunk compiles to a list of
// instructions; the chunk is evaluated one row tile at a time (at most kTile values), each
// instruction filling one small register, so a chain makes no intermediate chunk and its
// registers stay in cache. Leaves are chunks made by other tasks (read in place when
// contiguous), constants and aranges.
namespace {

constexpr std::int64_t kTile = 512;

struct Instr {
  enum Kind : std::uint8_t { leaf, constant, arange, unary, binary } kind;
  std::uint8_t sub = 0;
  int a = -1, b = -1;           // operand registers
  int input = -1;               // leaf: index into the task's inputs
  std::int64_t sr = 0, sc = 0;  // leaf: strides of output row and column in the input block
  double v0 = 0, v1 = 0;        // constant value; arange first value and step
};

// Leaves read from this rank's store of persisted chunks, in place (no task, no copy).
constexpr int kStored = 1 << 24;  // Instr::input at or above this: stored[input - kStored]
struct StoredRef {
  std::uint64_t id;
  std::int64_t bi, bj;
};

struct Program {
  std::vector<Instr> code;
  std::vector<StoredRef> stored;
  std::int64_t rows = 0, cols = 0;  // the output block
  bool strided = false;             // a leaf is read across (transposed): walk in square tiles
};

class Compiler {
 public:
  Compiler(Lowering& lowering, std::vector<TaskId>& deps, int owner)
      : lowering_(lowering), deps_(deps), owner_(owner) {}

  // Compiles `m` as seen from output chunk (bi, bj) of an output of `out_rows` rows;
  // returns its register.
  int compile(const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj, Program& p, bool root) {
    // A product lowered as an elementwise sum of cheaper parts joins the program.
    if (auto r = lowering_.rewritten(m)) return compile(r, bi, bj, p, root);
    const std::int64_t mi = m->rows == 1 ? 0 : bi, mj = m->cols == 1 ? 0 : bj;
    Instr ins{};
    switch (m->op) {
      case Op::full:
        ins.kind = Instr::constant;
        ins.v0 = m->reals[0];
        break;
      case Op::arange: {
        ins.kind = Instr::arange;
        const std::int64_t offset = offsets(m->col_chunks)[mj];
        ins.v0 = m->reals[0] + m->reals[1] * static_cast<double>(offset);
        ins.v1 = m->cols == 1 ? 0.0 : m->reals[1];
        break;
      }
      case Op::unary:
        ins.kind = Instr::unary;
        ins.sub = m->sub;
        ins.a = compile(m->args[0], bi, bj, p, false);
        break;
      case Op::binary:
        ins.kind = Instr::binary;
        ins.sub = m->sub;
        ins.a = compile(m->args[0], bi, bj, p, false);
        ins.b = compile(m->args[1], bi, bj, p, false);
        break;
      case Op::transpose: {
        // The child's chunk (mj, mi), read across: element (r, c) is child (c, r).
        const auto& child = m->args[0];
        ins.kind = Instr::leaf;
        ins.input = source(child, mj, mi, p);
        const std::int64_t child_cols = child->col_chunks[mi];
        ins.sr = m->rows == 1 ? 0 : 1;
        ins.sc = m->cols == 1 ? 0 : child_cols;
        p.strided |= ins.sc > 1;
        break;
      }
      default:
        if (root) throw Error("internal: fused program rooted at a materialized node");
        ins.kind = Instr::leaf;
        ins.input = source(m, mi, mj, p);
        ins.sr = m->rows == 1 ? 0 : m->col_chunks[mj];
        ins.sc = m->cols == 1 ? 0 : 1;
        break;
    }
    p.code.push_back(ins);
    return static_cast<int>(p.code.size()) - 1;
  }

  // A leaf program reading chunk (bi, bj) of a materialized node as it is.
  int leaf(const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj, Program& p) {
    Instr ins{};
    ins.kind = Instr::leaf;
    ins.input = source(m, bi, bj, p);
    ins.sr = m->col_chunks[bj];
    ins.sc = 1;
    p.code.push_back(ins);
    return 0;
  }

 private:
  // A persisted chunk on this task's own rank is read from the store in place;
  // anything else through a dependency.
  int source(const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj, Program& p) {
    if (m->op == Op::persisted && owner_ >= 0 && lowering_.owner(*m, bi, bj) == owner_) {
      p.stored.push_back({static_cast<std::uint64_t>(m->ints[0]), bi, bj});
      return kStored + static_cast<int>(p.stored.size()) - 1;
    }
    return input(lowering_.chunk(m, bi, bj));
  }

  int input(TaskId id) {
    for (std::size_t k = 0; k < deps_.size(); ++k)
      if (deps_[k] == id) return static_cast<int>(k);
    deps_.push_back(id);
    return static_cast<int>(deps_.size()) - 1;
  }
  Lowering& lowering_;
  std::vector<TaskId>& deps_;
  int owner_;
};

bool fusable(Op op) {
  return op == Op::full || op == Op::arange || op == Op::unary || op == Op::binary || op == Op::transpose;
}

// Compiles the program producing chunk (bi, bj) of `m` (fused when elementwise).
Program compile_chunk(Lowering& lowering, const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj,
                      std::vector<TaskId>& deps, int owner) {
  Program p;
  p.rows = m->row_chunks[bi];
  p.cols = m->col_chunks[bj];
  Compiler c(lowering, deps, owner);
  if (fusable(m->op) || lowering.rewritten(m)) {
    c.compile(m, bi, bj, p, true);
  } else {
    c.leaf(m, bi, bj, p);
  }
  return p;
}

inline double apply_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::abs:
      return std::fabs(x);
  }
  return x;
}

template <class F>
inline void binary_loop(const double* a, const double* b, double* out, std::int64_t len, F f) {
  for (std::int64_t k = 0; k < len; ++k) out[k] = f(a[k], b[k]);
}

void apply_binary(BinaryOp op, const double* a, const double* b, double* out, std::int64_t len) {
  switch (op) {
    case BinaryOp::add:
      return binary_loop(a, b, out, len, [](double x, double y) { return x + y; });
    case BinaryOp::sub:
      return binary_loop(a, b, out, len, [](double x, double y) { return x - y; });
    case BinaryOp::mul:
      return binary_loop(a, b, out, len, [](double x, double y) { return x * y; });
    case BinaryOp::div:
      return binary_loop(a, b, out, len, [](double x, double y) { return x / y; });
    case BinaryOp::pow:
      return binary_loop(a, b, out, len, [](double x, double y) { return std::pow(x, y); });
    case BinaryOp::lt:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x < y); });
    case BinaryOp::le:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x <= y); });
    case BinaryOp::gt:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x > y); });
    case BinaryOp::ge:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x >= y); });
    case BinaryOp::eq:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x == y); });
    case BinaryOp::ne:
      return binary_loop(a, b, out, len, [](double x, double y) { return double(x != y); });
  }
}

// Runs `p` over its output block, calling sink(row, col, len, values) per row tile.
template <class Sink>
void run_program(const Program& p, const Inputs& in, Sink&& sink) {
  const std::size_t n = p.code.size();
  std::vector<double> storage(n * kTile);
  std::vector<const double*> reg(n);
  std::vector<std::shared_ptr<const Block>> held;
  for (const StoredRef& ref : p.stored) {
    held.push_back(store_get(ref.id, ref.bi, ref.bj));
    if (!held.back())
      throw Error("persisted chunk (" + std::to_string(ref.bi) + ", " + std::to_string(ref.bj) +
                  ") is not on this rank: persist and compute must run with the same ranks");
  }
  std::vector<const Block*> blocks(n, nullptr);
  for (std::size_t k = 0; k < n; ++k)
    if (p.code[k].kind == Instr::leaf)
      blocks[k] = p.code[k].input >= kStored ? held[p.code[k].input - kStored].get() : &in.get<Block>(p.code[k].input);
  // Constants never change: fill their registers once.
  for (std::size_t k = 0; k < n; ++k)
    if (p.code[k].kind == Instr::constant) std::fill_n(&storage[k * kTile], kTile, p.code[k].v0);
  // Row tiles, or square tiles when a leaf is read across, so that its cache lines and
  // pages are reused by the next rows. Either way each column sees its rows in order.
  const std::int64_t tile_cols = p.strided ? 64 : kTile, tile_rows = p.strided ? 64 : 1;
  for (std::int64_t row0 = 0; row0 < p.rows; row0 += tile_rows)
    for (std::int64_t col = 0; col < p.cols; col += tile_cols)
      for (std::int64_t row = row0; row < std::min(p.rows, row0 + tile_rows); ++row) {
        const std::int64_t len = std::min(tile_cols, p.cols - col);
        for (std::size_t k = 0; k < n; ++k) {
          const Instr& ins = p.code[k];
          double* out = &storage[k * kTile];
          switch (ins.kind) {
            case Instr::constant:
              reg[k] = out;
              break;
            case Instr::leaf: {
              const double* base = blocks[k]->data.data() + row * ins.sr + col * ins.sc;
              if (ins.sc == 1) {
                reg[k] = base;  // contiguous: read in place
              } else if (ins.sc == 0) {
                std::fill_n(out, len, *base);
                reg[k] = out;
              } else {
                for (std::int64_t t = 0; t < len; ++t) out[t] = base[t * ins.sc];
                reg[k] = out;
              }
              break;
            }
            case Instr::arange:
              for (std::int64_t t = 0; t < len; ++t) out[t] = ins.v0 + ins.v1 * static_cast<double>(col + t);
              reg[k] = out;
              break;
            case Instr::unary: {
              const double* a = reg[ins.a];
              const auto op = static_cast<UnaryOp>(ins.sub);
              for (std::int64_t t = 0; t < len; ++t) out[t] = apply_unary(op, a[t]);
              reg[k] = out;
              break;
            }
            case Instr::binary:
              apply_binary(static_cast<BinaryOp>(ins.sub), reg[ins.a], reg[ins.b], out, len);
              reg[k] = out;
              break;
          }
        }
        sink(row, col, len, reg[n - 1]);
      }
}

const char* op_name(const ArrayNode& n) {
  switch (n.op) {
    case Op::full:
      return n.reals[0] == 1 ? "ones" : n.reals[0] == 0 ? "zeros" : "full";
    case Op::arange:
      return "arange";
    case Op::unary: {
      static const char* names[] = {"negative", "exp", "log", "sqrt", "absolute"};
      return names[n.sub];
    }
    case Op::binary: {
      static const char* names[] = {"add", "sub", "mul", "truediv", "pow", "lt", "le", "gt", "ge", "eq", "ne"};
      return names[n.sub];
    }
    case Op::transpose:
      return "transpose";
    default:
      return "array";
  }
}

}  // namespace

TaskId Lowering::fused(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  std::vector<TaskId> deps;
  auto program = std::make_shared<const Program>(compile_chunk(*this, n, bi, bj, deps, owner(*n, bi, bj)));
  const double elements = static_cast<double>(program->rows * program->cols);
  return add(
      op_name(*n), chunk_token(*n, bi, bj), std::move(deps),
      [program](const Inputs& in) {
        Block out{program->rows, program->cols, std::vector<double>(program->rows * program->cols)};
        run_program(*program, in, [&](std::int64_t row, std::int64_t col, std::int64_t len, const double* v) {
          std::copy_n(v, len, out.data.data() + row * out.cols + col);
        });
        return out;
      },
      owner(*n, bi, bj), elements * 1e-9 * static_cast<double>(program->code.size()), elements * 8);
}

// ---------------------------------------------------------------------------------------
// Reductions. Each chunk of the input gives a partial (fields per output element); the
// partials of one output chunk are combined in a fixed tree over chunk indices (fan-in
// 4, as dask's split_every), so the result never depends on ranks or threads.
namespace {

int fields(ReduceOp op) {
  switch (op) {
    case ReduceOp::mean:
      return 2;  // count, sum
    case ReduceOp::var:
    case ReduceOp::std:
      return 3;  // count, mean, M2
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      return 2;  // value, index
    default:
      return 1;
  }
}

double identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::prod:
      return 1;
    case ReduceOp::min:
    case ReduceOp::argmin:
      return std::numeric_limits<double>::infinity();
    case ReduceOp::max:
    case ReduceOp::argmax:
      return -std::numeric_limits<double>::infinity();
    default:
      return 0;
  }
}

// Does (v, i) beat (w, j)? NaN wins (NumPy propagates it, and arg* return the first NaN);
// on a tie the lower index wins.
inline bool beats(bool want_max, double v, double i, double w, double j) {
  const bool vn = std::isnan(v), wn = std::isnan(w);
  if (vn || wn) return vn && (!wn || i < j);
  if (v == w) return i < j;
  return want_max ? v > w : v < w;
}

// Merges partial element b into a (both `fields` wide), a being earlier in the tree.
inline void merge(ReduceOp op, double* a, const double* b) {
  switch (op) {
    case ReduceOp::sum:
      a[0] += b[0];
      break;
    case ReduceOp::prod:
      a[0] *= b[0];
      break;
    case ReduceOp::mean:
      a[0] += b[0];
      a[1] += b[1];
      break;
    case ReduceOp::var:
    case ReduceOp::std: {
      // Chan et al.'s pairwise update of count, mean and M2.
      const double na = a[0], nb = b[0];
      if (nb == 0) break;
      if (na == 0) {
        a[0] = b[0];
        a[1] = b[1];
        a[2] = b[2];
        break;
      }
      const double n = na + nb, delta = b[1] - a[1];
      a[1] += delta * (nb / n);
      a[2] += b[2] + delta * delta * (na * nb / n);
      a[0] = n;
      break;
    }
    case ReduceOp::min:
    case ReduceOp::max:
      if (beats(op == ReduceOp::max, b[0], 1, a[0], 0) && !std::isnan(a[0])) a[0] = b[0];
      break;
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      if (beats(op == ReduceOp::argmax, b[0], b[1], a[0], a[1])) {
        a[0] = b[0];
        a[1] = b[1];
      }
      break;
  }
}

inline double finalize(ReduceOp op, const double* a) {
  switch (op) {
    case ReduceOp::mean:
      return a[1] / a[0];
    case ReduceOp::var:
      return a[0] > 0 ? a[2] / a[0] : std::numeric_limits<double>::quiet_NaN();
    case ReduceOp::std:
      return a[0] > 0 ? std::sqrt(a[2] / a[0]) : std::numeric_limits<double>::quiet_NaN();
    case ReduceOp::argmin:
    case ReduceOp::argmax:
      return a[1];
    default:
      return a[0];
  }
}

// The partial of one tile of values (all at one output element) as a fresh element.
inline void tile_partial(ReduceOp op, const double* v, std::int64_t len, double first_index, double* out) {
  switch (op) {
    case ReduceOp::sum: {
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      out[0] = s;
      break;
    }
    case ReduceOp::prod: {
      double s = 1;
      for (std::int64_t t = 0; t < len; ++t) s *= v[t];
      out[0] = s;
      break;
    }
    case ReduceOp::mean: {
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      out[0] = static_cast<double>(len);
      out[1] = s;
      break;
    }
    case ReduceOp::var:
    case ReduceOp::std: {
      // Two passes over a tile that is in cache: as accurate as NumPy's two-pass var.
      double s = 0;
      for (std::int64_t t = 0; t < len; ++t) s += v[t];
      const double mean = s / static_cast<double>(len);
      double m2 = 0;
      for (std::int64_t t = 0; t < len; ++t) m2 += (v[t] - mean) * (v[t] - mean);
      out[0] = static_cast<double>(len);
      out[1] = mean;
      out[2] = m2;
      break;
    }
    case ReduceOp::min:
    case ReduceOp::max: {
      const bool want_max = op == ReduceOp::max;
      double best = v[0];
      for (std::int64_t t = 1; t < len; ++t)
        if (beats(want_max, v[t], 1, best, 0) && !std::isnan(best)) best = v[t];
      out[0] = best;
      break;
    }
    case ReduceOp::argmin:
    case ReduceOp::argmax: {
      const bool want_max = op == ReduceOp::argmax;
      double best = v[0];
      std::int64_t at = 0;
      for (std::int64_t t = 1; t < len; ++t)
        if (beats(want_max, v[t], static_cast<double>(t), best, static_cast<double>(at))) {
          best = v[t];
          at = t;
        }
      out[0] = best;
      out[1] = first_index + static_cast<double>(at);
      break;
    }
  }
}

struct ReduceSpec {
  ReduceOp op;
  int axis;                        // internal: -1 all, 0 rows, 1 columns
  std::int64_t row0, col0, width;  // the input chunk's offsets; the input's column count
};

// The partial of one input chunk, streamed from its program.
Block chunk_partial(const Program& p, const ReduceSpec& s, const Inputs& in) {
  const int f = fields(s.op);
  Block out;
  out.rows = s.axis == 1 ? p.rows : 1;
  out.cols = s.axis == 0 ? p.cols : 1;
  out.data.assign(out.rows * out.cols * f, 0.0);
  for (std::int64_t e = 0; e < out.rows * out.cols; ++e) {
    out.data[e * f] = identity(s.op);
    if (f > 1 && (s.op == ReduceOp::mean || s.op == ReduceOp::var || s.op == ReduceOp::std)) out.data[e * f] = 0;
    if (s.op == ReduceOp::argmin || s.op == ReduceOp::argmax) out.data[e * f + 1] = std::numeric_limits<double>::max();
  }
  std::vector<double> scratch(f);
  if (s.axis == 0) {
    // Rows fold into per-column accumulators, one row at a time.
    const bool welford = s.op == ReduceOp::var || s.op == ReduceOp::std;
    run_program(p, in, [&](std::int64_t row, std::int64_t col, std::int64_t len, const double* v) {
      double* acc = out.data.data() + col * f;
      switch (s.op) {
        case ReduceOp::sum:
          for (std::int64_t t = 0; t < len; ++t) acc[t] += v[t];
          break;
        case ReduceOp::prod:
          for (std::int64_t t = 0; t < len; ++t) acc[t] *= v[t];
          break;
        case ReduceOp::mean:
          for (std::int64_t t = 0; t < len; ++t) {
            acc[2 * t] += 1;
            acc[2 * t + 1] += v[t];
          }
          break;
        default:
          if (welford) {
            const double n = static_cast<double>(row + 1), inv = 1.0 / n;
            for (std::int64_t t = 0; t < len; ++t) {
              double* a = acc + 3 * t;
              const double delta = v[t] - a[1];
              a[0] = n;
              a[1] += delta * inv;
              a[2] += delta * (v[t] - a[1]);
            }
          } else {
            for (std::int64_t t = 0; t < len; ++t) {
              scratch[0] = v[t];
              if (f > 1) scratch[1] = static_cast<double>(s.row0 + row);
              merge(s.op, acc + f * t, scratch.data());
            }
          }
      }
    });
  } else {
    run_program(p, in, [&](std::int64_t row, std::int64_t col, std::int64_t len, const double* v) {
      double* acc = out.data.data() + (s.axis == 1 ? row * f : 0);
      // Flat index (no axis) or column index (axis 1) of the tile's first value.
      const double first = s.axis == 1 ? static_cast<double>(s.col0 + col)
                                       : static_cast<double>((s.row0 + row) * s.width + s.col0 + col);
      tile_partial(s.op, v, len, first, scratch.data());
      merge(s.op, acc, scratch.data());
    });
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Sums along one axis of a sum or difference of materialized arrays of which some are
// transposed, as (x + x.T).sum(0). The fused program would read each transposed chunk
// across (slowly: a cache line per value), from another rank when the two chunks of a
// pair live apart, and every chunk twice. By linearity, each term's chunk is instead
// summed along both axes in one contiguous pass (column sums and row sums together),
// read in place where it lives; only these 1-d sums move, and an output chunk adds them
// up in a fixed order over chunk indices (bitwise the same at any rank and thread count).
namespace {

struct Term {
  ArrayNodePtr leaf;
  bool transposed;
  double sign;
};

// Whether `m` is +- a chain of materialized float64 arrays (possibly transposed), all of
// m's shape and chunks; appends the terms.
bool linear_terms(const ArrayNodePtr& m, double sign, std::vector<Term>& out) {
  if (m->dtype != DType::float64 || m->ndim != 2) return false;
  if (m->op == Op::binary && (m->sub == static_cast<std::uint8_t>(BinaryOp::add) ||
                              m->sub == static_cast<std::uint8_t>(BinaryOp::sub))) {
    for (const auto& arg : m->args)
      if (arg->row_chunks != m->row_chunks || arg->col_chunks != m->col_chunks) return false;  // broadcasting
    const double second = m->sub == static_cast<std::uint8_t>(BinaryOp::sub) ? -sign : sign;
    return linear_terms(m->args[0], sign, out) && linear_terms(m->args[1], second, out);
  }
  if (m->op == Op::transpose) {
    const ArrayNodePtr& child = m->args[0];
    if (fusable(child->op) || child->dtype != DType::float64) return false;
    out.push_back({child, true, sign});
    return true;
  }
  if (fusable(m->op)) return false;
  out.push_back({m, false, sign});
  return true;
}

// Column sums then row sums of a row-major block: [cols values, rows values]. Row sums
// keep four running sums (columns mod 4) added in a fixed order, so the loop is not one
// chain of dependent adds. Cloned for AVX2 (chosen at load time where the CPU has it):
// with SSE2 alone the loop is compute-bound below memory speed on a busy core.
__attribute__((target_clones("avx2", "default"))) std::vector<double> column_and_row_sums(const double* a,
                                                                                         std::int64_t rows,
                                                                                         std::int64_t cols) {
  std::vector<double> out(cols + rows, 0.0);
  double* colsum = out.data();
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* row = a + r * cols;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::int64_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      colsum[c] += row[c];
      colsum[c + 1] += row[c + 1];
      colsum[c + 2] += row[c + 2];
      colsum[c + 3] += row[c + 3];
      s0 += row[c];
      s1 += row[c + 1];
      s2 += row[c + 2];
      s3 += row[c + 3];
    }
    for (; c < cols; ++c) {
      colsum[c] += row[c];
      s0 += row[c];
    }
    out[cols + r] = (s0 + s1) + (s2 + s3);
  }
  return out;
}

}  // namespace

std::optional<TaskId> Lowering::linear_sum(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const int axis = static_cast<int>(n->ints[0]);
  if (static_cast<ReduceOp>(n->sub) != ReduceOp::sum || axis == -1 || x->ndim != 2) return std::nullopt;
  std::vector<Term> terms;
  if (!linear_terms(x, 1.0, terms)) return std::nullopt;
  if (std::none_of(terms.begin(), terms.end(), [](const Term& t) { return t.transposed; })) return std::nullopt;
  // One task per chunk of a term's array: its column and row sums, where it lives.
  auto sums = [&](const ArrayNodePtr& leaf, std::int64_t p, std::int64_t q) {
    const std::int64_t rows = leaf->row_chunks[p], cols = leaf->col_chunks[q];
    const Token token = chunk_token(*leaf, p, q, 0x5c05);
    if (auto id = graph_.find(token)) return *id;
    std::vector<TaskId> deps;
    std::uint64_t stored = 0;
    if (leaf->op == Op::persisted)
      stored = static_cast<std::uint64_t>(leaf->ints[0]);  // read in place on its own rank
    else
      deps.push_back(chunk(leaf, p, q));
    return add(
        "sum-both-axes", token, std::move(deps),
        [stored, p, q, rows, cols](const Inputs& in) {
          std::shared_ptr<const Block> held;
          const Block* block;
          if (stored) {
            held = store_get(stored, p, q);
            if (!held)
              throw Error("persisted chunk (" + std::to_string(p) + ", " + std::to_string(q) +
                          ") is not on this rank: persist and compute must run with the same ranks");
            block = held.get();
          } else {
            block = &in.get<Block>(0);
          }
          return Block{1, rows + cols, column_and_row_sums(block->data.data(), rows, cols)};
        },
        owner(*leaf, p, q), static_cast<double>(rows * cols) * 3e-10, 8.0 * (rows + cols));
  };
  // x's chunks along the reduced axis, for output chunk k; each term's share of chunk
  // (i, k) (axis 0) or (k, j) (axis 1) is a segment of some chunk's sums.
  const std::int64_t k = axis == 0 ? bj : (n->ndim == 1 ? bj : bi);
  const std::int64_t along = axis == 0 ? x->row_blocks() : x->col_blocks();
  struct Part {
    std::int64_t offset;  // into the sums of that chunk: 0 for column sums, cols for row sums
    double sign;
  };
  std::vector<TaskId> deps;
  std::vector<Part> parts;
  for (std::int64_t i = 0; i < along; ++i)
    for (const Term& t : terms) {
      // Chunk (i, k) of x (axis 0) is the leaf's (i, k), or (k, i) transposed; axis 1's
      // chunk (k, i) likewise. Column sums of x's chunk are the leaf chunk's column sums,
      // or its row sums when transposed; row sums the other way round.
      const bool plain = !t.transposed;
      const std::int64_t p = plain == (axis == 0) ? i : k, q = plain == (axis == 0) ? k : i;
      const std::int64_t leaf_cols = t.leaf->col_chunks[q];
      const bool want_column_sums = (axis == 0) == plain;
      deps.push_back(sums(t.leaf, p, q));
      parts.push_back({want_column_sums ? 0 : leaf_cols, t.sign});
    }
  const std::int64_t out_rows = n->row_chunks[bi], out_cols = n->col_chunks[bj];
  return add(
      "sum", chunk_token(*n, bi, bj), std::move(deps),
      [parts = std::move(parts), out_rows, out_cols](const Inputs& in) {
        Block out{out_rows, out_cols, std::vector<double>(out_rows * out_cols, 0.0)};
        for (std::size_t e = 0; e < parts.size(); ++e) {
          const double* v = in.get<Block>(e).data.data() + parts[e].offset;
          const double sign = parts[e].sign;
          for (std::size_t c = 0; c < out.data.size(); ++c) out.data[c] += sign * v[c];
        }
        return out;
      },
      owner(*n, bi, bj), 1e-6 * static_cast<double>(parts.size()), 8.0 * out_rows * out_cols);
}

TaskId Lowering::reduce(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  if (auto id = linear_sum(n, bi, bj)) return *id;
  const ArrayNodePtr& x = n->args[0];
  const auto op = static_cast<ReduceOp>(n->sub);
  const int axis = static_cast<int>(n->ints[0]);
  const auto row_offs = offsets(x->row_chunks), col_offs = offsets(x->col_chunks);
  // The input chunks feeding output chunk (bi, bj), in index order.
  std::vector<std::pair<std::int64_t, std::int64_t>> group;
  if (axis == -1) {
    for (std::int64_t i = 0; i < x->row_blocks(); ++i)
      for (std::int64_t j = 0; j < x->col_blocks(); ++j) group.emplace_back(i, j);
  } else if (axis == 0) {
    for (std::int64_t i = 0; i < x->row_blocks(); ++i) group.emplace_back(i, bj);
  } else {
    const std::int64_t i = n->ndim == 1 ? bj : bi;  // 1-d results hold rows as a row
    for (std::int64_t j = 0; j < x->col_blocks(); ++j) group.emplace_back(i, j);
  }
  const int f = fields(op);
  std::vector<TaskId> level;
  for (auto [i, j] : group) {
    const Token token = chunk_token(*n, i, j, 0x9a7);
    if (auto id = graph_.find(token)) {
      level.push_back(*id);
      continue;
    }
    std::vector<TaskId> deps;
    auto program = std::make_shared<const Program>(compile_chunk(*this, x, i, j, deps, owner(*x, i, j)));
    ReduceSpec spec{op, axis, row_offs[i], col_offs[j], x->cols};
    const double elements = static_cast<double>(program->rows * program->cols);
    level.push_back(add(
        std::string(op_name(*x)) + "-" + "partial", token, std::move(deps),
        [program, spec](const Inputs& in) { return chunk_partial(*program, spec, in); }, owner(*x, i, j),
        elements * 1.5e-9 * static_cast<double>(program->code.size()),
        8.0 * f *
            (axis == 0   ? program->cols
             : axis == 1 ? program->rows
                         : 1)));
  }
  // The fixed tree: groups of 4 consecutive partials, level by level; the root also
  // turns the fields into the result.
  static const char* names[] = {"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax"};
  const std::string name = names[n->sub];
  const std::int64_t out_rows = n->row_chunks[bi], out_cols = n->col_chunks[bj];
  std::uint64_t depth = 0;
  while (true) {
    const bool root = level.size() <= 4;
    std::vector<TaskId> next;
    for (std::size_t start = 0; start < level.size(); start += 4) {
      std::vector<TaskId> deps(level.begin() + start, level.begin() + std::min(level.size(), start + 4));
      const Token token =
          root ? chunk_token(*n, bi, bj)
               : chunk_token(*n, bi, bj, ((depth + 1) << 32) | start);  // (level, index): distinct for any tree
      auto body = [op, f, root, out_rows, out_cols](const Inputs& in) {
        Block acc = in.get<Block>(0);
        for (std::size_t k = 1; k < in.size(); ++k) {
          const Block& b = in.get<Block>(k);
          for (std::size_t e = 0; e < acc.data.size(); e += f) merge(op, &acc.data[e], &b.data[e]);
        }
        if (!root) return acc;
        Block out{out_rows, out_cols, std::vector<double>(acc.data.size() / f)};
        for (std::size_t e = 0; e < out.data.size(); ++e) out.data[e] = finalize(op, &acc.data[e * f]);
        return out;
      };
      next.push_back(add(root ? name : name + "-combine", token, std::move(deps), body, root ? owner(*n, bi, bj) : -1,
                         1e-7, 8.0 * f * out_rows * out_cols));
    }
    if (root) return next[0];
    level = std::move(next);
    ++depth;
  }
}

// ---------------------------------------------------------------------------------------
// A chunk of values the expression carries: each task holds only its own chunk's copy.
TaskId Lowering::literal(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  const std::int64_t row0 = offsets(n->row_chunks)[bi], col0 = offsets(n->col_chunks)[bj];
  const auto* all = reinterpret_cast<const char*>(n->text[0].data());
  if (static_cast<std::int64_t>(n->text[0].size()) != n->rows * n->cols * 8)
    throw Error("internal: literal array holds " + std::to_string(n->text[0].size()) + " bytes for shape " +
                shape_str(*n));
  Block block{rows, cols, std::vector<double>(static_cast<std::size_t>(rows * cols))};
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(block.data.data() + r * cols, all + ((row0 + r) * n->cols + col0) * 8,
                static_cast<std::size_t>(cols) * 8);
  return add(
      "array", chunk_token(*n, bi, bj), {}, [block = std::move(block)](const Inputs&) { return block; },
      owner(*n, bi, bj), 1e-9 * static_cast<double>(rows * cols), 8.0 * static_cast<double>(rows * cols));
}

// Random chunks: the numbers come from RandomFill (src/random), keyed by global element
// index, so they do not depend on the chunking, the ranks or the threads.
TaskId Lowering::random(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  const std::int64_t row0 = offsets(n->row_chunks)[bi], col0 = offsets(n->col_chunks)[bj];
  static const char* names[] = {"random_sample", "normal", "randint"};
  return add(
      names[n->sub], chunk_token(*n, bi, bj), {},
      [=, fill = RandomFill(*n)](const Inputs&) {
        Block out{rows, cols, std::vector<double>(rows * cols)};
        fill(row0, col0, rows, cols, out.data.data());
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-9, 8.0 * rows * cols);
}

// ---------------------------------------------------------------------------------------
// Rechunk and slice: copies from the input chunks each output chunk overlaps.
TaskId Lowering::rechunk(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const auto out_r = offsets(n->row_chunks), out_c = offsets(n->col_chunks);
  const auto in_r = offsets(x->row_chunks), in_c = offsets(x->col_chunks);
  struct Piece {
    std::int64_t src_row, src_col, dst_row, dst_col, rows, cols;
  };
  std::vector<Piece> pieces;
  std::vector<TaskId> deps;
  for (std::int64_t i = 0; i < x->row_blocks(); ++i) {
    const std::int64_t r0 = std::max(in_r[i], out_r[bi]), r1 = std::min(in_r[i + 1], out_r[bi + 1]);
    if (r1 <= r0) continue;
    for (std::int64_t j = 0; j < x->col_blocks(); ++j) {
      const std::int64_t c0 = std::max(in_c[j], out_c[bj]), c1 = std::min(in_c[j + 1], out_c[bj + 1]);
      if (c1 <= c0) continue;
      deps.push_back(chunk(x, i, j));
      pieces.push_back({r0 - in_r[i], c0 - in_c[j], r0 - out_r[bi], c0 - out_c[bj], r1 - r0, c1 - c0});
    }
  }
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "rechunk", chunk_token(*n, bi, bj), std::move(deps),
      [pieces, rows, cols](const Inputs& in) {
        Block out{rows, cols, std::vector<double>(rows * cols)};
        for (std::size_t k = 0; k < pieces.size(); ++k) {
          const Piece& p = pieces[k];
          const Block& src = in.get<Block>(k);
          for (std::int64_t r = 0; r < p.rows; ++r)
            std::copy_n(src.data.data() + (p.src_row + r) * src.cols + p.src_col, p.cols,
                        out.data.data() + (p.dst_row + r) * cols + p.dst_col);
        }
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 1e-9, 8.0 * rows * cols);
}

namespace {
// For output chunk `k` of a slice along one axis: the input chunk and the first selected
// index inside it.
std::pair<std::int64_t, std::int64_t> slice_source(const std::vector<std::int64_t>& in_chunks, std::int64_t start,
                                                   std::int64_t count, std::int64_t step, std::int64_t k) {
  auto offs = offsets(in_chunks);
  std::int64_t seen = 0;
  for (std::size_t chunk_idx = 0; chunk_idx < in_chunks.size(); ++chunk_idx) {
    auto first_k = [&](std::int64_t lo) { return lo <= start ? 0 : (lo - start + step - 1) / step; };
    const std::int64_t k0 = std::min(first_k(offs[chunk_idx]), count);
    const std::int64_t k1 = std::min(first_k(offs[chunk_idx + 1]), count);
    if (k1 <= k0) continue;
    if (seen == k) return {static_cast<std::int64_t>(chunk_idx), start + k0 * step - offs[chunk_idx]};
    ++seen;
  }
  return {0, 0};  // an empty selection: one empty chunk
}
}  // namespace

TaskId Lowering::slice(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const ArrayNodePtr& x = n->args[0];
  const std::int64_t row_step = n->ints[1], col_step = n->ints[3];
  auto [src_i, first_row] = slice_source(x->row_chunks, n->ints[0], n->rows, row_step, bi);
  auto [src_j, first_col] = slice_source(x->col_chunks, n->ints[2], n->cols, col_step, bj);
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "getitem", chunk_token(*n, bi, bj), {chunk(x, src_i, src_j)},
      [=](const Inputs& in) {
        const Block& src = in.get<Block>(0);
        Block out{rows, cols, std::vector<double>(rows * cols)};
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t c = 0; c < cols; ++c)
            out.data[r * cols + c] = src.data[(first_row + r * row_step) * src.cols + first_col + c * col_step];
        return out;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 1e-9, 8.0 * rows * cols);
}

// ---------------------------------------------------------------------------------------
// Persisted chunks: a rank-local store, filled by persist and read by later computes.
namespace {
struct Store {
  std::mutex mutex;
  std::map<std::tuple<std::uint64_t, std::int64_t, std::int64_t>, std::shared_ptr<const Block>> chunks;
  std::unordered_map<std::uint64_t, std::weak_ptr<PersistHandle>> handles;
};
Store& store() {
  static Store s;
  return s;
}
}  // namespace

PersistHandle::~PersistHandle() {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.chunks.lower_bound({id, std::numeric_limits<std::int64_t>::min(), 0});
  while (it != s.chunks.end() && std::get<0>(it->first) == id) it = s.chunks.erase(it);
  s.handles.erase(id);
}

void store_put(std::uint64_t id, std::int64_t bi, std::int64_t bj, std::shared_ptr<const Block> block) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  s.chunks[{id, bi, bj}] = std::move(block);
}

std::shared_ptr<const Block> store_get(std::uint64_t id, std::int64_t bi, std::int64_t bj) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.chunks.find({id, bi, bj});
  return it == s.chunks.end() ? nullptr : it->second;
}

std::shared_ptr<PersistHandle> persist_handle(std::uint64_t id) {
  Store& s = store();
  std::lock_guard lock(s.mutex);
  auto it = s.handles.find(id);
  return it == s.handles.end() ? nullptr : it->second.lock();
}

std::shared_ptr<PersistHandle> new_persist_handle(std::uint64_t id) {
  auto handle = std::make_shared<PersistHandle>(id);
  Store& s = store();
  std::lock_guard lock(s.mutex);
  s.handles[id] = handle;
  return handle;
}

TaskId Lowering::persisted(const ArrayNodePtr& n, std::int64_t bi, std::int64_t bj) {
  const std::uint64_t id = static_cast<std::uint64_t>(n->ints[0]);
  const std::int64_t rows = n->row_chunks[bi], cols = n->col_chunks[bj];
  return add(
      "persisted", chunk_token(*n, bi, bj), {},
      [id, bi, bj](const Inputs&) {
        auto block = store_get(id, bi, bj);
        if (!block)
          throw Error("persisted chunk (" + std::to_string(bi) + ", " + std::to_string(bj) +
                      ") is not on this rank: persist and compute must run with the same ranks");
        return *block;
      },
      owner(*n, bi, bj), static_cast<double>(rows * cols) * 2e-10, 8.0 * rows * cols);
}

}  // namespace rask::detail
