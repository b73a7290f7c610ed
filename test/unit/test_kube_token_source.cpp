#include <doctest/doctest.h>

#include <map>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "kube/token_source.h"
#include "test_kube_support.h"

using le::kube::FileStamp;
using le::kube::TokenFileAccess;
using le::kube::TokenSource;
using le::kube::testing::TempDir;

namespace {

// A scripted file: what stat and read answer, and how often read was called.
struct FakeFile {
  std::optional<FileStamp> stamp;
  std::optional<std::string> content;
  int reads = 0;
  std::uint64_t inodes = 0;

  TokenFileAccess access() {
    TokenFileAccess access;
    access.stat = [this](const std::string&) { return stamp; };
    access.read = [this](const std::string&) {
      ++reads;
      return content;
    };
    return access;
  }
  void rotate(std::string new_content) {
    FileStamp next;
    next.inode = ++inodes;  // a new file each time, as the kubelet's symlink swap makes
    stamp = next;
    content = std::move(new_content);
  }
};

}  // namespace

TEST_CASE("a static token is used as is, no file, no reads") {
  TokenSource source("static", "");
  CHECK(source.current() == "static");
  TokenSource none("", "");
  CHECK(none.current().empty());
}

TEST_CASE("the token file is read once and re-read only when its stamp changes") {
  FakeFile file;
  file.rotate("token-1\n");
  TokenSource source("", "/sa/token", file.access());
  CHECK(source.current() == "token-1");
  CHECK(source.current() == "token-1");
  CHECK(file.reads == 1);

  file.rotate("  token-2  ");
  CHECK(source.current() == "token-2");
  CHECK(file.reads == 2);

  // A change of size or mtime alone counts too.
  file.stamp->mtime_ns += 1;
  file.content = "token-3";
  CHECK(source.current() == "token-3");
  CHECK(file.reads == 3);
}

TEST_CASE("an unreadable or empty token file keeps the last good token and retries") {
  FakeFile file;
  file.rotate("good");
  TokenSource source("", "/sa/token", file.access());
  CHECK(source.current() == "good");

  file.stamp.reset();  // the file vanished (mid-rotation)
  CHECK(source.current() == "good");
  file.rotate("");  // an empty file
  CHECK(source.current() == "good");
  const int reads = file.reads;
  file.stamp->size += 1;
  file.content.reset();  // stat works, read fails
  CHECK(source.current() == "good");
  CHECK(file.reads == reads + 1);
  // A failed read does not record the stamp, so the same stamp is read again next time.
  file.content = "better";
  CHECK(source.current() == "better");
}

TEST_CASE("with no good token yet the request goes out without one, or with the static token") {
  FakeFile file;
  TokenSource source("", "/sa/token", file.access());
  CHECK(source.current().empty());
  file.rotate("late");
  CHECK(source.current() == "late");

  FakeFile missing;
  TokenSource with_static("inline", "/sa/token", missing.access());
  CHECK(with_static.current() == "inline");
  missing.rotate("from-file");
  // Once read, the file's token wins over the inline one, as client-go's BearerTokenFile does.
  CHECK(with_static.current() == "from-file");
  missing.stamp.reset();
  CHECK(with_static.current() == "from-file");
}

TEST_CASE("a real file replaced by rename (the kubelet's atomic swap) is picked up") {
  TempDir dir;
  const auto path = dir.write("token", "first\n");
  TokenSource source("", path.string());
  CHECK(source.current() == "first");
  const auto staged = dir.write("token.new", "second\n");
  std::filesystem::rename(staged, path);
  CHECK(source.current() == "second");
  std::filesystem::remove(path);
  CHECK(source.current() == "second");
}

TEST_CASE("an outage logs one warning, never the token") {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));

  FakeFile file;
  file.rotate("hush-hush");
  TokenSource source("", "/sa/token", file.access());
  CHECK(source.current() == "hush-hush");
  file.stamp.reset();
  for (int i = 0; i < 5; ++i) CHECK(source.current() == "hush-hush");
  file.rotate("hush-hush-2");
  CHECK(source.current() == "hush-hush-2");
  file.stamp.reset();
  CHECK(source.current() == "hush-hush-2");

  spdlog::set_default_logger(previous);
  const auto lines = sink->last_formatted();
  int warnings = 0;
  for (const auto& line : lines) {
    CHECK(line.find("hush") == std::string::npos);
    if (line.find("[warning]") != std::string::npos) ++warnings;
  }
  CHECK(warnings == 2);  // one per outage
}

TEST_CASE("a file that comes back unchanged (same stamp) ends the outage, so the next one is logged too") {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));

  FakeFile file;
  file.rotate("hush-hush");
  TokenSource source("", "/sa/token", file.access());
  CHECK(source.current() == "hush-hush");
  const auto same = file.stamp;
  file.stamp.reset();  // moved away, then moved back as it was
  CHECK(source.current() == "hush-hush");
  file.stamp = same;
  CHECK(source.current() == "hush-hush");
  file.stamp.reset();  // a second outage
  CHECK(source.current() == "hush-hush");

  spdlog::set_default_logger(previous);
  int warnings = 0;
  int recovered = 0;
  for (const auto& line : sink->last_formatted()) {
    if (line.find("[warning]") != std::string::npos) ++warnings;
    if (line.find("readable again") != std::string::npos) ++recovered;
  }
  CHECK(warnings == 2);
  CHECK(recovered == 1);
}
