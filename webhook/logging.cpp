#include "webhook/logging.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace seccomp_gate::webhook {
namespace {

// A buffered logger writes once this much is waiting.
constexpr std::size_t kFlushBytes = 16 * 1024;

std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            break;
    }
    return "error";
}

bool needs_escape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!needs_escape(c)) continue;
        out.append(text.substr(start, i - start));
        start = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default: {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x",
                              static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += escaped;
            }
        }
    }
    out.append(text.substr(start));
    out += '"';
}

void append_timestamp(std::string& out) {
    // Formatting the date is the costly part: once per second and thread, then only the millis.
    thread_local std::time_t cached_second = -1;
    thread_local char cached[32];
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000);
    if (seconds != cached_second) {
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
        cached_second = seconds;
    }
    out += cached;
    out += '.';
    out += static_cast<char>('0' + millis / 100);
    out += static_cast<char>('0' + millis / 10 % 10);
    out += static_cast<char>('0' + millis % 10);
    out += 'Z';
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
    if (text == "debug") return LogLevel::kDebug;
    if (text == "info") return LogLevel::kInfo;
    if (text == "warn" || text == "warning") return LogLevel::kWarn;
    if (text == "error") return LogLevel::kError;
    return std::nullopt;
}

void Logger::log(LogLevel level, std::string_view message,
                 std::initializer_list<LogField> fields) const {
    if (!enabled(level)) return;
    std::string line;
    line.reserve(256);
    line += R"({"time":")";
    append_timestamp(line);
    line += R"(","level":")";
    line += level_name(level);
    line += R"(","msg":)";
    append_json_string(line, message);
    for (const LogField& field : fields) {
        line += ',';
        append_json_string(line, field.key);
        line += ':';
        if (const auto* text = std::get_if<std::string_view>(&field.value)) {
            append_json_string(line, *text);
        } else if (const auto* integer = std::get_if<std::int64_t>(&field.value)) {
            line += std::to_string(*integer);
        } else if (const auto* real = std::get_if<double>(&field.value)) {
            char number[32];
            const auto result =
                std::to_chars(number, number + sizeof number, *real, std::chars_format::fixed, 6);
            line.append(number, result.ptr);
        } else {
            line += std::get<bool>(field.value) ? "true" : "false";
        }
    }
    line += "}\n";
    if (!buffered_) {
        const std::lock_guard write_lock(write_mutex_);
        write_out(line);
        return;
    }
    std::string full;
    {
        const std::lock_guard lock(buffer_mutex_);
        if (pending_.capacity() < kFlushBytes) pending_.reserve(kFlushBytes + 1024);
        pending_ += line;
        if (pending_.size() < kFlushBytes && level < LogLevel::kWarn) return;
        full.swap(pending_);
    }
    const std::lock_guard write_lock(write_mutex_);
    write_out(full);
}

void Logger::flush() const {
    std::string lines;
    const std::lock_guard write_lock(write_mutex_);
    {
        const std::lock_guard lock(buffer_mutex_);
        lines.swap(pending_);
    }
    write_out(lines);
}

void Logger::write_out(std::string& lines) const {
    // A short write (a pipe full of a slow reader) is retried, errors dropped: logging must never
    // take the request path down.
    const char* data = lines.data();
    std::size_t left = lines.size();
    while (left > 0) {
        const ssize_t written = ::write(fd_, data, left);
        if (written < 0) {
            if (errno == EINTR) continue;
            return;
        }
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

}  // namespace seccomp_gate::webhook
