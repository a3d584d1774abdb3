# junit.awk - read a bats JUnit report; print one test a line:
#   suite <TAB> name <TAB> ok|failed|skipped <TAB> seconds <TAB> message
# The message is the failure text with each newline written as \n, cut to
# 1500 characters. Used by tests/check (students) and tests/grade-report.
function unescape(s) {
    gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s)
    gsub(/&#39;/, "\047", s); gsub(/&amp;/, "\\&", s); return s
}
function attr(line, key,    v) {
    if (!match(line, " " key "=\"[^\"]*\"")) return ""
    v = substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 4)
    return unescape(v)
}
function flush() {
    if (name == "") return
    gsub(/\t/, " ", msg)
    if (length(msg) > 1500) msg = substr(msg, 1, 1500) "..."
    print suite "\t" name "\t" state "\t" time "\t" msg
    name = ""
}
/<testcase / {
    flush()
    suite = attr($0, "classname"); name = attr($0, "name"); time = attr($0, "time")
    state = "ok"; msg = ""; infail = 0
}
/<skipped/ { state = "skipped" }
/<failure/ { state = "failed"; infail = 1; sub(/.*<failure[^>]*>/, "") }
infail {
    line = $0
    closed = sub(/<\/failure>.*/, "", line)
    line = unescape(line)
    msg = msg (msg == "" ? "" : "\\n") line
    if (closed) infail = 0
}
END { flush() }
