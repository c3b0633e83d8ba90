// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <arrow/filesystem/localfs.h>

namespace otap_parquet::testing {

/// \brief Local files seen as an object store's: the same paths, but a type name
/// that is not "local", so dataset code takes the paths it takes for S3, GCS or
/// Azure (modification times read as Last-Modified: the start of an upload).
class ObjectStoreLikeFs : public arrow::fs::LocalFileSystem {
 public:
  std::string type_name() const override { return "object-store-like"; }
};

}  // namespace otap_parquet::testing
