// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/attribute_order.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>

#include "otap_parquet/util/compute.h"

namespace otap_parquet::dataset {

namespace {

// Rank of each row's key among the batch's distinct keys in byte order (a null key
// ranks 0, before ""); `num_ranks` gets the number of ranks.
std::vector<uint32_t> KeyRanks(const arrow::StringArray& keys, uint32_t* num_ranks) {
  std::unordered_map<std::string_view, uint32_t> ids;
  std::vector<std::string_view> distinct;
  std::vector<uint32_t> id_of_row(static_cast<size_t>(keys.length()));
  // Attribute keys repeat record after record: compare with the previous row's key
  // before hashing.
  std::string_view previous;
  uint32_t previous_id = UINT32_MAX;
  bool has_null = false;
  for (int64_t i = 0; i < keys.length(); ++i) {
    if (keys.IsNull(i)) {
      id_of_row[static_cast<size_t>(i)] = UINT32_MAX;
      has_null = true;
      continue;
    }
    const std::string_view key = keys.GetView(i);
    if (previous_id != UINT32_MAX && key == previous) {
      id_of_row[static_cast<size_t>(i)] = previous_id;
      continue;
    }
    auto [it, inserted] = ids.try_emplace(key, static_cast<uint32_t>(distinct.size()));
    if (inserted) distinct.push_back(key);
    previous = key;
    previous_id = it->second;
    id_of_row[static_cast<size_t>(i)] = it->second;
  }
  std::vector<uint32_t> by_bytes(distinct.size());
  std::iota(by_bytes.begin(), by_bytes.end(), 0u);
  std::sort(by_bytes.begin(), by_bytes.end(),
            [&](uint32_t a, uint32_t b) { return distinct[a] < distinct[b]; });
  const uint32_t base = has_null ? 1 : 0;
  std::vector<uint32_t> rank_of_id(distinct.size());
  for (size_t r = 0; r < by_bytes.size(); ++r) {
    rank_of_id[by_bytes[r]] = static_cast<uint32_t>(r) + base;
  }
  for (auto& id : id_of_row) id = id == UINT32_MAX ? 0 : rank_of_id[id];
  *num_ranks = static_cast<uint32_t>(distinct.size()) + base;
  return id_of_row;
}

// Stable counting sort of `order` by `rank` (ranks < num_ranks).
std::vector<int64_t> CountingSort(const std::vector<int64_t>& order,
                                  const std::vector<uint32_t>& rank, uint32_t num_ranks) {
  std::vector<int64_t> start(num_ranks + 1, 0);
  for (int64_t row : order) ++start[rank[static_cast<size_t>(row)] + 1];
  for (uint32_t r = 0; r < num_ranks; ++r) start[r + 1] += start[r];
  std::vector<int64_t> out(order.size());
  for (int64_t row : order) {
    out[static_cast<size_t>(start[rank[static_cast<size_t>(row)]]++)] = row;
  }
  return out;
}

// Stable sort of `order` by parent id (a null parent first); no work when the
// rows already come by parent id, as the converters write them.
void SortByParent(const arrow::Array& parents, std::vector<int64_t>* order) {
  const auto& ids = static_cast<const arrow::UInt32Array&>(parents);
  auto key = [&](int64_t row) -> int64_t {
    return ids.IsNull(row) ? -1 : static_cast<int64_t>(ids.Value(row));
  };
  bool sorted = true;
  for (size_t i = 1; i < order->size() && sorted; ++i) {
    sorted = key((*order)[i - 1]) <= key((*order)[i]);
  }
  if (sorted) return;
  std::stable_sort(order->begin(), order->end(),
                   [&](int64_t a, int64_t b) { return key(a) < key(b); });
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatch>> OrderAttributeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, AttributeOrder order,
    arrow::MemoryPool* pool) {
  if (order == AttributeOrder::kAsReceived || batch->num_rows() < 2) return batch;
  auto parents = batch->GetColumnByName("parent_id");
  auto keys = batch->GetColumnByName("key");
  if (parents == nullptr || keys == nullptr ||
      parents->type_id() != arrow::Type::UINT32 ||
      keys->type_id() != arrow::Type::STRING) {
    return batch;
  }
  uint32_t num_ranks = 0;
  const auto rank = KeyRanks(static_cast<const arrow::StringArray&>(*keys), &num_ranks);
  std::vector<int64_t> rows(static_cast<size_t>(batch->num_rows()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  if (order == AttributeOrder::kKeyParentId) {
    SortByParent(*parents, &rows);
    rows = CountingSort(rows, rank, num_ranks);
  } else {
    rows = CountingSort(rows, rank, num_ranks);
    SortByParent(*parents, &rows);
  }
  bool identity = true;
  for (size_t i = 0; i < rows.size() && identity; ++i) {
    identity = rows[i] == static_cast<int64_t>(i);
  }
  if (identity) return batch;
  ARROW_RETURN_NOT_OK(util::EnsureComputeInitialized());
  arrow::Int64Builder indices(pool != nullptr ? pool : arrow::default_memory_pool());
  ARROW_RETURN_NOT_OK(indices.AppendValues(rows));
  ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
  arrow::compute::ExecContext context(pool != nullptr ? pool
                                                      : arrow::default_memory_pool());
  ARROW_ASSIGN_OR_RAISE(
      auto taken,
      arrow::compute::Take(batch, index_array,
                           arrow::compute::TakeOptions::NoBoundsCheck(), &context));
  return taken.record_batch();
}

}  // namespace otap_parquet::dataset
