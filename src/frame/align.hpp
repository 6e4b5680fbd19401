#pragma once
// The final task of a frame compute: each source's merged block results finished into
// columns, groupby results combined by arithmetic aligned on their keys (keys missing
// on one side give NaN, as in pandas), and the result Table assembled.
#include <map>
#include <vector>

#include "frame/block.hpp"

namespace rask::detail {

/// Local: the result of `root` from the merge trees' roots (`in`, one per plan, in
/// order); `specs` holds each aggregation leaf's spec by token.
Table finish_table(const std::vector<SourcePlan>& plans, const FramePtr& root, const std::map<Token, AggSpec>& specs,
                   const Inputs& in);

}  // namespace rask::detail
