#pragma once
// Structured logs: one JSON object per line on stderr. Each line is written with a single
// write(2), so lines from different threads never interleave and no lock is taken.

#include <cstdint>
#include <initializer_list>
#include <optional>
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
    explicit Logger(LogLevel level = LogLevel::kInfo, int fd = 2) : level_(level), fd_(fd) {}

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
    LogLevel level_;
    int fd_;
};

}  // namespace seccomp_gate::webhook
