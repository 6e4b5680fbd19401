// The fused elementwise program compiler (see fused.hpp) and the fused chunk tasks.
#include "array/fused.hpp"

namespace rask::detail {

namespace {

class Compiler {
 public:
  Compiler(Lowering& lowering, std::vector<TaskId>& deps, int owner)
      : lowering_(lowering), deps_(deps), owner_(owner) {}

  // Compiles `m` as seen from output chunk (bi, bj) of the program's output; returns
  // its register.
  int compile(const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj, Program& p, bool root) {
    // A product lowered as an elementwise sum of cheaper parts joins the program.
    if (auto r = lowering_.rewritten(m)) return compile(r, bi, bj, p, root);
    const std::int64_t mi = m->rows == 1 ? 0 : bi, mj = m->cols == 1 ? 0 : bj;
    Instr ins{};
    switch (m->op()) {
      case Op::full:
        ins.kind = Instr::constant;
        ins.v0 = m->as<ops::Full>().value;
        break;
      case Op::arange: {
        ins.kind = Instr::arange;
        const std::int64_t offset = offsets(m->col_chunks)[mj];
        const double start = static_cast<double>(m->as<ops::Arange>().start);
        const double step = static_cast<double>(m->as<ops::Arange>().step);
        ins.v0 = start + step * static_cast<double>(offset);
        ins.v1 = m->cols == 1 ? 0.0 : step;
        break;
      }
      case Op::unary:
        ins.kind = Instr::unary;
        ins.unary_op = m->as<ops::Unary>().op;
        ins.a = compile(m->args[0], bi, bj, p, false);
        break;
      case Op::binary:
        ins.kind = Instr::binary;
        ins.binary_op = m->as<ops::Binary>().op;
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
    if (m->op() == Op::persisted && owner_ >= 0 && lowering_.owner(*m, bi, bj) == owner_) {
      p.stored.push_back({m->as<ops::Persisted>().id, bi, bj});
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

}  // namespace

bool fusable(Op op) {
  return op == Op::full || op == Op::arange || op == Op::unary || op == Op::binary || op == Op::transpose;
}

Program compile_chunk(Lowering& lowering, const ArrayNodePtr& m, std::int64_t bi, std::int64_t bj,
                      std::vector<TaskId>& deps, int owner) {
  Program p;
  p.rows = m->row_chunks[bi];
  p.cols = m->col_chunks[bj];
  Compiler c(lowering, deps, owner);
  if (fusable(m->op()) || lowering.rewritten(m)) {
    c.compile(m, bi, bj, p, true);
  } else {
    c.leaf(m, bi, bj, p);
  }
  return p;
}

const char* op_name(const ArrayNode& n) {
  switch (n.op()) {
    case Op::full: {
      const double value = n.as<ops::Full>().value;
      return value == 1 ? "ones" : value == 0 ? "zeros" : "full";
    }
    case Op::arange:
      return "arange";
    case Op::unary: {
      static const char* names[] = {"negative", "exp", "log", "sqrt", "absolute"};
      return names[static_cast<int>(n.as<ops::Unary>().op)];
    }
    case Op::binary: {
      static const char* names[] = {"add", "sub", "mul", "truediv", "pow", "lt", "le", "gt", "ge", "eq", "ne"};
      return names[static_cast<int>(n.as<ops::Binary>().op)];
    }
    case Op::transpose:
      return "transpose";
    default:
      return "array";
  }
}

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

}  // namespace rask::detail
