// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>

namespace otap_parquet::dataset {

/// \brief A file system that passes every call to the one it wraps; a subclass
/// overrides only what it changes (an operation recorded, failed or made a kill
/// point).
///
/// Passed on as they are: type_name(), Equals() (this object, or what the wrapped
/// one equals), the path and URI mapping and every read, with its FileInfo and
/// async variants (the wrapped store keeps its own fast paths: S3 opens a FileInfo
/// without a HEAD request, and runs async calls on its I/O pool). A subclass that
/// changes a read therefore changes each variant its callers use.
///
/// Left to arrow::fs::FileSystem's defaults: DeleteFiles and DeleteDirContentsAsync,
/// which call DeleteFile and DeleteDirContents, so a subclass that overrides a
/// change sees every one, also those made in bulk.
///
/// Thread safety: that of the wrapped file system.
class ForwardingFileSystem : public arrow::fs::FileSystem {
 public:
  /// \param base the file system every call goes to; not null.
  explicit ForwardingFileSystem(std::shared_ptr<arrow::fs::FileSystem> base);

  const std::shared_ptr<arrow::fs::FileSystem>& base() const { return base_; }

  std::string type_name() const override;
  bool Equals(const arrow::fs::FileSystem& other) const override;
  arrow::Result<std::string> NormalizePath(std::string path) override;
  arrow::Result<std::string> PathFromUri(const std::string& uri_string) const override;
  arrow::Result<std::string> MakeUri(std::string path) const override;

  using arrow::fs::FileSystem::CreateDir;
  using arrow::fs::FileSystem::DeleteDirContents;
  using arrow::fs::FileSystem::Equals;
  using arrow::fs::FileSystem::GetFileInfo;
  using arrow::fs::FileSystem::OpenAppendStream;
  using arrow::fs::FileSystem::OpenOutputStream;

  arrow::Result<arrow::fs::FileInfo> GetFileInfo(const std::string& path) override;
  arrow::Result<arrow::fs::FileInfoVector> GetFileInfo(
      const std::vector<std::string>& paths) override;
  arrow::Result<arrow::fs::FileInfoVector> GetFileInfo(
      const arrow::fs::FileSelector& select) override;
  arrow::Future<arrow::fs::FileInfoVector> GetFileInfoAsync(
      const std::vector<std::string>& paths) override;
  arrow::fs::FileInfoGenerator GetFileInfoGenerator(
      const arrow::fs::FileSelector& select) override;

  arrow::Status CreateDir(const std::string& path, bool recursive) override;
  arrow::Status DeleteDir(const std::string& path) override;
  arrow::Status DeleteDirContents(const std::string& path, bool missing_dir_ok) override;
  arrow::Status DeleteRootDirContents() override;
  arrow::Status DeleteFile(const std::string& path) override;
  arrow::Status Move(const std::string& src, const std::string& dest) override;
  arrow::Status CopyFile(const std::string& src, const std::string& dest) override;

  arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenInputStream(
      const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenInputStream(
      const arrow::fs::FileInfo& info) override;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override;
  arrow::Future<std::shared_ptr<arrow::io::InputStream>> OpenInputStreamAsync(
      const std::string& path) override;
  arrow::Future<std::shared_ptr<arrow::io::InputStream>> OpenInputStreamAsync(
      const arrow::fs::FileInfo& info) override;
  arrow::Future<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFileAsync(
      const std::string& path) override;
  arrow::Future<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFileAsync(
      const arrow::fs::FileInfo& info) override;

  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenAppendStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override;

 private:
  std::shared_ptr<arrow::fs::FileSystem> base_;
};

/// \brief An output stream that passes every call to the one it wraps; a subclass
/// overrides only what it changes (the wrappers' streams record or fail a close).
class ForwardingOutputStream : public arrow::io::OutputStream {
 public:
  /// \param base the stream every call goes to; not null.
  explicit ForwardingOutputStream(std::shared_ptr<arrow::io::OutputStream> base);

  const std::shared_ptr<arrow::io::OutputStream>& base() const { return base_; }

  arrow::Status Close() override;
  arrow::Status Abort() override;
  bool closed() const override;
  arrow::Result<int64_t> Tell() const override;
  arrow::Status Write(const void* data, int64_t nbytes) override;
  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override;
  arrow::Status Flush() override;

 private:
  std::shared_ptr<arrow::io::OutputStream> base_;
};

}  // namespace otap_parquet::dataset
