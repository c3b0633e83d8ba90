// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/forwarding_file_system.h"

#include <utility>

#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>

namespace otap_parquet::dataset {

using arrow::Future;
using arrow::Result;
using arrow::Status;
namespace afs = arrow::fs;
namespace aio = arrow::io;

ForwardingFileSystem::ForwardingFileSystem(std::shared_ptr<afs::FileSystem> base)
    : afs::FileSystem(base->io_context()), base_(std::move(base)) {}

std::string ForwardingFileSystem::type_name() const { return base_->type_name(); }

bool ForwardingFileSystem::Equals(const afs::FileSystem& other) const {
  return this == &other || base_->Equals(other);
}

Result<std::string> ForwardingFileSystem::NormalizePath(std::string path) {
  return base_->NormalizePath(std::move(path));
}

Result<std::string> ForwardingFileSystem::PathFromUri(
    const std::string& uri_string) const {
  return base_->PathFromUri(uri_string);
}

Result<std::string> ForwardingFileSystem::MakeUri(std::string path) const {
  return base_->MakeUri(std::move(path));
}

Result<afs::FileInfo> ForwardingFileSystem::GetFileInfo(const std::string& path) {
  return base_->GetFileInfo(path);
}

Result<afs::FileInfoVector> ForwardingFileSystem::GetFileInfo(
    const std::vector<std::string>& paths) {
  return base_->GetFileInfo(paths);
}

Result<afs::FileInfoVector> ForwardingFileSystem::GetFileInfo(
    const afs::FileSelector& select) {
  return base_->GetFileInfo(select);
}

Future<afs::FileInfoVector> ForwardingFileSystem::GetFileInfoAsync(
    const std::vector<std::string>& paths) {
  return base_->GetFileInfoAsync(paths);
}

afs::FileInfoGenerator ForwardingFileSystem::GetFileInfoGenerator(
    const afs::FileSelector& select) {
  return base_->GetFileInfoGenerator(select);
}

Status ForwardingFileSystem::CreateDir(const std::string& path, bool recursive) {
  return base_->CreateDir(path, recursive);
}

Status ForwardingFileSystem::DeleteDir(const std::string& path) {
  return base_->DeleteDir(path);
}

Status ForwardingFileSystem::DeleteDirContents(const std::string& path,
                                               bool missing_dir_ok) {
  return base_->DeleteDirContents(path, missing_dir_ok);
}

Status ForwardingFileSystem::DeleteRootDirContents() {
  return base_->DeleteRootDirContents();
}

Status ForwardingFileSystem::DeleteFile(const std::string& path) {
  return base_->DeleteFile(path);
}

Status ForwardingFileSystem::Move(const std::string& src, const std::string& dest) {
  return base_->Move(src, dest);
}

Status ForwardingFileSystem::CopyFile(const std::string& src, const std::string& dest) {
  return base_->CopyFile(src, dest);
}

Result<std::shared_ptr<aio::InputStream>> ForwardingFileSystem::OpenInputStream(
    const std::string& path) {
  return base_->OpenInputStream(path);
}

Result<std::shared_ptr<aio::InputStream>> ForwardingFileSystem::OpenInputStream(
    const afs::FileInfo& info) {
  return base_->OpenInputStream(info);
}

Result<std::shared_ptr<aio::RandomAccessFile>> ForwardingFileSystem::OpenInputFile(
    const std::string& path) {
  return base_->OpenInputFile(path);
}

Result<std::shared_ptr<aio::RandomAccessFile>> ForwardingFileSystem::OpenInputFile(
    const afs::FileInfo& info) {
  return base_->OpenInputFile(info);
}

Future<std::shared_ptr<aio::InputStream>> ForwardingFileSystem::OpenInputStreamAsync(
    const std::string& path) {
  return base_->OpenInputStreamAsync(path);
}

Future<std::shared_ptr<aio::InputStream>> ForwardingFileSystem::OpenInputStreamAsync(
    const afs::FileInfo& info) {
  return base_->OpenInputStreamAsync(info);
}

Future<std::shared_ptr<aio::RandomAccessFile>> ForwardingFileSystem::OpenInputFileAsync(
    const std::string& path) {
  return base_->OpenInputFileAsync(path);
}

Future<std::shared_ptr<aio::RandomAccessFile>> ForwardingFileSystem::OpenInputFileAsync(
    const afs::FileInfo& info) {
  return base_->OpenInputFileAsync(info);
}

Result<std::shared_ptr<aio::OutputStream>> ForwardingFileSystem::OpenOutputStream(
    const std::string& path,
    const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) {
  return base_->OpenOutputStream(path, metadata);
}

Result<std::shared_ptr<aio::OutputStream>> ForwardingFileSystem::OpenAppendStream(
    const std::string& path,
    const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) {
  return base_->OpenAppendStream(path, metadata);
}

ForwardingOutputStream::ForwardingOutputStream(std::shared_ptr<aio::OutputStream> base)
    : base_(std::move(base)) {}

Status ForwardingOutputStream::Close() { return base_->Close(); }

Status ForwardingOutputStream::Abort() { return base_->Abort(); }

bool ForwardingOutputStream::closed() const { return base_->closed(); }

Result<int64_t> ForwardingOutputStream::Tell() const { return base_->Tell(); }

Status ForwardingOutputStream::Write(const void* data, int64_t nbytes) {
  return base_->Write(data, nbytes);
}

Status ForwardingOutputStream::Write(const std::shared_ptr<arrow::Buffer>& data) {
  return base_->Write(data);
}

Status ForwardingOutputStream::Flush() { return base_->Flush(); }

}  // namespace otap_parquet::dataset
