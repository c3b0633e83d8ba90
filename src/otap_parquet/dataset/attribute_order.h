// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "otap_parquet/dataset/writer_options.h"

/// \file
/// Ordering the rows of one attribute table before it is written
/// (WriterOptions::attribute_order).

namespace otap_parquet::dataset {

/// \brief The rows of `batch` (an attribute table in on-disk form: `parent_id`,
/// `key`, value columns) in `order`: by (key, parent_id) or (parent_id, key), keys
/// by their bytes, a null parent_id or key first; rows equal in both keep their
/// order. Returns `batch` itself when it is already in that order (or `order` is
/// kAsReceived, or it lacks either column), else a copy (arrow::compute::Take).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> OrderAttributeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, AttributeOrder order,
    arrow::MemoryPool* pool = nullptr);

}  // namespace otap_parquet::dataset
