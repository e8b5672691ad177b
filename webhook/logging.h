#pragma once
// Structured logs: one JSON object per line on stderr.
//
// Unbuffered, each line is one write(2). Buffered (the server), lines collect in memory and go
// out together: when 16 KiB are waiting, when a warning or an error is logged (those are never
// held back), and on flush(), which the server calls every 100 ms and on exit. One write(2) per
// request was a tenth of the server's CPU time per request. Lines never interleave: a flush
// writes whole lines, and writes are serialised.

#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace seccomp_gate::webhook {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

std::optional<LogLevel> parse_log_level(std::string_view text);

struct LogField {
    using Value = std::variant<std::string_view, std::int64_t, double, bool>;

    LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
    LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
    LogField(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
    LogField(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
    LogField(std::string_view k, std::size_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
    LogField(std::string_view k, double v) : key(k), value(v) {}
    LogField(std::string_view k, bool v) : key(k), value(v) {}

    std::string_view key;
    Value value;
};

class Logger {
  public:
    enum class Buffering { kNone, kBuffered };

    explicit Logger(LogLevel level = LogLevel::kInfo, int fd = 2,
                    Buffering buffering = Buffering::kNone)
        : level_(level), fd_(fd), buffered_(buffering == Buffering::kBuffered) {}
    ~Logger() { flush(); }
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    // Writes out the buffered lines.
    void flush() const;

    bool enabled(LogLevel level) const { return level >= level_; }
    void log(LogLevel level, std::string_view message,
             std::initializer_list<LogField> fields = {}) const;

    void debug(std::string_view m, std::initializer_list<LogField> f = {}) const {
        log(LogLevel::kDebug, m, f);
    }
    void info(std::string_view m, std::initializer_list<LogField> f = {}) const {
        log(LogLevel::kInfo, m, f);
    }
    void warn(std::string_view m, std::initializer_list<LogField> f = {}) const {
        log(LogLevel::kWarn, m, f);
    }
    void error(std::string_view m, std::initializer_list<LogField> f = {}) const {
        log(LogLevel::kError, m, f);
    }

  private:
    void write_out(std::string& lines) const;

    LogLevel level_;
    int fd_;
    bool buffered_;
    mutable std::mutex buffer_mutex_;  // guards pending_
    mutable std::string pending_;
    mutable std::mutex write_mutex_;  // keeps flushes in order
};

}  // namespace seccomp_gate::webhook
